/* Tests of the aggregates' partial reads (store/agg.h, agg_read_head(),
 * agg_read_part() and agg_read_rated(); agg_val_decode_part()): a value
 * read without its behaviours, or with them summed into one, has every
 * other figure the full read gives it, whatever blocks it carries and
 * however many behaviours, and the summed behaviour is the full read's
 * behaviours summed; a value one read refuses the others refuse; ids kept
 * from value to value stay right when the decodes alternate; and through
 * the store, the weeks a read leaves without behaviours are the ones the
 * caller asked for. */
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
#define VAL_MAX 32768

/* Fills v (zeroed by the caller) with figures of its own for seed, the
 * pair, mix and recording blocks when asked, and nb behaviours with ids of
 * 3 to 64 bytes. */
static void make_value(struct agg_val *v, unsigned seed, int pairs, int mix, int rec, size_t nb)
{
    char id[VALIDATE_MAX_ID + 1];

    v->observations = 3 + seed;
    v->seconds = 5000000000LL + seed; /* past 2^32 */
    for (int i = 0; i < AGG_NMARKERS; i++) {
        v->markers[i] = (int64_t)(seed * 7 + (unsigned)i) % 5;
    }
    v->index_n = 2 + seed;
    v->index_sum = 8.25 + seed;
    v->index_sumsq = 22.6875 + seed;
    v->self_n = 1;
    v->self_s = 12.5;
    v->actions = 4 + seed;
    v->double_coded = 1;
    for (int i = 0; pairs && i < AGG_NPAIRS; i++) {
        v->pairs[i] = (int64_t)(seed + (unsigned)i) % 3;
    }
    v->pairs[0] += pairs ? 1 : 0;
    for (int i = 0; mix && i < AGG_NMIX; i++) {
        v->mix[i] = 1 + (int64_t)(seed + (unsigned)i) % 4;
    }
    for (int i = 0; mix && i < AGG_NMIXQ; i++) {
        v->mix_q[i] = 0.5 * (double)(seed + (unsigned)i + 1);
    }
    v->rec_n = rec ? 5 + seed : 0;
    v->rec_rep_first = rec ? 2 : 0;
    for (size_t b = 0; b < nb; b++) {
        struct agg_beh *ab;
        int plen = snprintf(id, sizeof(id), "%zu", b); /* unique */
        size_t len = (size_t)plen + 2 + (b * 13 + seed) % (VALIDATE_MAX_ID - (size_t)plen - 1);

        for (size_t j = (size_t)plen; j < len; j++) {
            id[j] = (char)('a' + (b + j + seed) % 26);
        }
        id[len] = '\0';
        ab = agg_val_beh(v, id);
        assert_non_null(ab);
        ab->count = 1 + (int64_t)b;
        ab->sum = 2.0 + (double)b;
        ab->sumsq = 4.0 + (double)b;
        ab->proficient = (int64_t)b % 2;
    }
}

/* a and b have the same figures outside the behaviours. */
static void assert_same_head(const struct agg_val *a, const struct agg_val *b)
{
    assert_int_equal(a->observations, b->observations);
    assert_int_equal(a->seconds, b->seconds);
    assert_memory_equal(a->markers, b->markers, sizeof(a->markers));
    assert_int_equal(a->index_n, b->index_n);
    assert_true(a->index_sum == b->index_sum && a->index_sumsq == b->index_sumsq);
    assert_int_equal(a->self_n, b->self_n);
    assert_true(a->self_s == b->self_s);
    assert_int_equal(a->actions, b->actions);
    assert_int_equal(a->double_coded, b->double_coded);
    assert_memory_equal(a->pairs, b->pairs, sizeof(a->pairs));
    assert_memory_equal(a->mix, b->mix, sizeof(a->mix));
    assert_memory_equal(a->mix_q, b->mix_q, sizeof(a->mix_q));
    assert_int_equal(a->rec_n, b->rec_n);
    assert_int_equal(a->rec_rep_first, b->rec_rep_first);
}

/* Encodes v into buf (VAL_MAX bytes); returns its size. */
static size_t encode(const struct agg_val *v, uint8_t *buf)
{
    size_t n = agg_val_size(v);

    assert_true(n <= VAL_MAX);
    assert_int_equal(agg_val_encode(v, buf, n), 0);
    return n;
}

/* The rated decode's own agg_val, kept from call to call as a reader's. */
static struct agg_val rated_v;

/* Decodes p[0..n) in full, head-only and rated and checks they agree: the
 * same code and, when they read it, the same figures outside the
 * behaviours, no behaviour from the head-only read, and from the rated one
 * the full read's behaviours summed. Returns the code. */
static int decode_both(struct agg_val *full, struct agg_val *head, const uint8_t *p, size_t n)
{
    struct agg_val *rated = &rated_v;
    int rf = agg_val_decode(full, p, n);
    int rh = agg_val_decode_part(head, p, n, AGG_DECODE_HEAD);
    int rr = agg_val_decode_part(rated, p, n, AGG_DECODE_RATED);

    assert_int_equal(rf, rh);
    assert_int_equal(rf, rr);
    if (rf == 0) {
        struct agg_beh sum;

        assert_same_head(full, head);
        assert_same_head(full, rated);
        assert_int_equal(head->nb, 0);
        assert_int_equal(rated->nb, full->nb > 0 ? 1 : 0);
        memset(&sum, 0, sizeof(sum));
        for (size_t i = 0; i < full->nb; i++) {
            sum.count += full->b[i].count;
            sum.sum += full->b[i].sum;
            sum.sumsq += full->b[i].sumsq;
            sum.proficient += full->b[i].proficient;
        }
        if (full->nb > 0) {
            assert_string_equal(rated->b[0].id, AGG_RATED);
            assert_int_equal(rated->b[0].count, sum.count);
            assert_true(rated->b[0].sum == sum.sum && rated->b[0].sumsq == sum.sumsq);
            assert_int_equal(rated->b[0].proficient, sum.proficient);
        }
    }
    return rf;
}

static const size_t nbs[] = {0, 1, 10, 40, 300};

/* Every combination of the optional blocks with few and many behaviours:
 * the head-only read has the full read's header and blocks. */
static void test_head_equals_full(void **state)
{
    static uint8_t buf[VAL_MAX];
    struct agg_val v, full, head;
    unsigned seed = 0;

    (void)state;
    memset(&full, 0, sizeof(full));
    memset(&head, 0, sizeof(head));
    for (int blocks = 0; blocks < 8; blocks++) {
        for (size_t k = 0; k < sizeof(nbs) / sizeof(nbs[0]); k++) {
            size_t n;

            memset(&v, 0, sizeof(v));
            make_value(&v, seed++, blocks & 1, blocks & 2, blocks & 4, nbs[k]);
            n = encode(&v, buf);
            assert_int_equal(buf[1] & 1, (blocks & 1) != 0);
            assert_int_equal(decode_both(&full, &head, buf, n), 0);
            assert_same_head(&v, &head);
            assert_int_equal(full.nb, nbs[k]);
            for (size_t b = 0; b < nbs[k]; b++) {
                assert_string_equal(full.b[b].id, v.b[b].id);
                assert_int_equal(full.b[b].count, v.b[b].count);
            }
            agg_val_free(&v);
        }
    }
    agg_val_free(&full);
    agg_val_free(&head);
    agg_val_free(&rated_v);
}

/* Truncated, extended and damaged values, every byte of a value with each
 * block and a few behaviours replaced in turn by bytes that break it: both
 * reads refuse the same ones. */
static void test_head_refuses_alike(void **state)
{
    static const uint8_t subst[] = {0x00, 0x01, 0x02, 0x40, 0x41, 0x7f, 0x80, 0xff};
    static uint8_t buf[VAL_MAX], bad[VAL_MAX + 1];
    struct agg_val v, full, head;
    unsigned refused = 0, read = 0;
    size_t n;

    (void)state;
    memset(&v, 0, sizeof(v));
    memset(&full, 0, sizeof(full));
    memset(&head, 0, sizeof(head));
    make_value(&v, 3, 1, 1, 1, 3);
    n = encode(&v, buf);
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(decode_both(&full, &head, buf, cut), -EIO);
    }
    memcpy(bad, buf, n);
    bad[n] = 0;
    assert_int_equal(decode_both(&full, &head, bad, n + 1), -EIO);
    for (size_t i = 0; i < n; i++) {
        for (size_t s = 0; s < sizeof(subst); s++) {
            memcpy(bad, buf, n);
            bad[i] = subst[s];
            if (decode_both(&full, &head, bad, n) == 0) {
                read++;
            } else {
                refused++;
            }
        }
    }
    /* Both kinds occurred: a NUL in an id, an id length past the value,
     * an unknown flag are refused; a changed count is read. */
    assert_true(refused > 0 && read > 0);
    memcpy(bad, buf, n);
    bad[n - 1] = 0x7f; /* the last behaviour's proficient count */
    assert_int_equal(decode_both(&full, &head, bad, n), 0);
    /* Random bytes behind a right version byte. */
    srand(11);
    for (int i = 0; i < 3000; i++) {
        size_t len = (size_t)rand() % 400;

        for (size_t j = 0; j < len; j++) {
            bad[j] = (uint8_t)rand();
        }
        if (len > 1) {
            bad[0] = AGG_VALUE_VERSION;
            bad[1] &= 0x83; /* only known flags, so some get past the header */
        }
        (void)decode_both(&full, &head, bad, len);
    }
    agg_val_free(&v);
    agg_val_free(&full);
    agg_val_free(&head);
    agg_val_free(&rated_v);
}

/* One agg_val decoded head-only and in full in turn, over values of the
 * same ids, of other ids of the same lengths, and after a refused one: the
 * ids a full decode keeps from the last are always the value's own. */
static void test_head_then_full_ids(void **state)
{
    static uint8_t a[VAL_MAX], b[VAL_MAX], bad[VAL_MAX];
    struct agg_val va, vb, d;
    size_t na, nb;

    (void)state;
    memset(&va, 0, sizeof(va));
    memset(&vb, 0, sizeof(vb));
    memset(&d, 0, sizeof(d));
    make_value(&va, 1, 0, 0, 0, 12);
    make_value(&vb, 1, 0, 0, 0, 12);
    /* vb: the same lengths, other bytes. */
    for (size_t i = 0; i < vb.nb; i++) {
        vb.b[i].id[strlen(vb.b[i].id) - 1] = 'Q';
    }
    na = encode(&va, a);
    nb = encode(&vb, b);
    assert_int_equal(agg_val_decode(&d, a, na), 0);
    assert_int_equal(agg_val_decode_part(&d, b, nb, AGG_DECODE_HEAD), 0);
    assert_int_equal(d.nb, 0);
    assert_int_equal(agg_val_decode(&d, a, na), 0);
    for (size_t i = 0; i < va.nb; i++) {
        assert_string_equal(d.b[i].id, va.b[i].id);
    }
    assert_int_equal(agg_val_decode_part(&d, a, na, AGG_DECODE_HEAD), 0);
    assert_int_equal(agg_val_decode(&d, b, nb), 0);
    for (size_t i = 0; i < vb.nb; i++) {
        assert_string_equal(d.b[i].id, vb.b[i].id);
    }
    /* A rated decode puts AGG_RATED first; the next full decode replaces
     * it with the value's own first id. */
    assert_int_equal(agg_val_decode_part(&d, a, na, AGG_DECODE_RATED), 0);
    assert_int_equal(d.nb, 1);
    assert_string_equal(d.b[0].id, AGG_RATED);
    assert_int_equal(agg_val_decode(&d, b, nb), 0);
    for (size_t i = 0; i < vb.nb; i++) {
        assert_string_equal(d.b[i].id, vb.b[i].id);
    }
    /* A value refused in the middle of an id (a NUL at its third byte)
     * leaves nothing a later decode could take for a whole id. */
    memcpy(bad, a, na);
    bad[88 + 1 + 2] = 0;
    assert_int_equal(agg_val_decode(&d, bad, na), -EIO);
    assert_int_equal(agg_val_decode_part(&d, a, na, AGG_DECODE_HEAD), 0);
    assert_int_equal(agg_val_decode(&d, a, na), 0);
    for (size_t i = 0; i < va.nb; i++) {
        assert_string_equal(d.b[i].id, va.b[i].id);
        assert_int_equal(d.b[i].count, va.b[i].count);
    }
    agg_val_free(&va);
    agg_val_free(&vb);
    agg_val_free(&d);
}

/* ---- Through the store -------------------------------------------------- */

#define WEEKS 6

struct put_arg {
    int corrupt_week; /* -1: none */
};

/* Writes WEEKS values of coach flm.x, each with behaviours, and a value of
 * another coach after them; one week's value damaged when asked. */
static int put_txn(struct store_txn *t, void *arg)
{
    const struct put_arg *pa = arg;
    struct keys_buf k;
    struct agg_val v;
    int rc = 0;

    for (int w = 0; w < WEEKS && rc == 0; w++) {
        memset(&v, 0, sizeof(v));
        make_value(&v, (unsigned)w, w % 2, w % 3 == 0, w == 4, 10);
        assert_int_equal(agg_key(&k, AGG_COACH, "flm.x", RUBRIC, 1, MON0 + 7 * w), 0);
        rc = agg_val_put(t, k.b, k.len, &v);
        if (rc == 0 && w == pa->corrupt_week) {
            MDB_val kv = {k.len, k.b}, vv;
            uint8_t bad[VAL_MAX];

            assert_int_equal(mdb_get(t->txn, t->s->dbi_agg, &kv, &vv), 0);
            memcpy(bad, vv.mv_data, vv.mv_size);
            bad[vv.mv_size - 1 - 16 - 2] = 0; /* a NUL in the last id */
            vv.mv_data = bad;
            assert_int_equal(mdb_put(t->txn, t->s->dbi_agg, &kv, &vv, 0), 0);
        }
        agg_val_free(&v);
    }
    memset(&v, 0, sizeof(v));
    make_value(&v, 99, 0, 0, 0, 2);
    assert_int_equal(agg_key(&k, AGG_COACH, "flm.y", RUBRIC, 1, MON0), 0);
    if (rc == 0) {
        rc = agg_val_put(t, k.b, k.len, &v);
    }
    agg_val_free(&v);
    return rc;
}

struct seen {
    int n;
    int32_t monday[WEEKS];
    Coachq__V1__AggWeek w[WEEKS];
    size_t nb[WEEKS];
    uint64_t markers[WEEKS][AGG_NMARKERS];
    uint64_t mix[WEEKS][AGG_NMIX];
    uint64_t pairs[WEEKS][AGG_NPAIRS];
    /* The week's behaviours summed, and its first behaviour's id. */
    uint64_t bcount[WEEKS], bprof[WEEKS];
    double bsum[WEEKS], bsumsq[WEEKS];
    char id0[WEEKS][VALIDATE_MAX_ID + 1];
};

/* Keeps what the read gave of each week (the arrays are the read's). */
static int seen_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct seen *s = arg;

    assert_true(s->n < WEEKS);
    s->monday[s->n] = monday;
    s->w[s->n] = *w;
    s->nb[s->n] = w->n_behaviours;
    for (size_t i = 0; i < w->n_behaviours; i++) {
        s->bcount[s->n] += w->behaviours[i]->count;
        s->bsum[s->n] += w->behaviours[i]->sum;
        s->bsumsq[s->n] += w->behaviours[i]->sumsq;
        s->bprof[s->n] += w->behaviours[i]->proficient;
    }
    if (w->n_behaviours > 0) {
        snprintf(s->id0[s->n], sizeof(s->id0[0]), "%s", w->behaviours[0]->id);
    }
    assert_true(w->n_markers == AGG_NMARKERS);
    memcpy(s->markers[s->n], w->markers, sizeof(s->markers[0]));
    assert_true(w->n_mix == 0 || w->n_mix == AGG_NMIX);
    if (w->n_mix > 0) {
        memcpy(s->mix[s->n], w->mix, sizeof(s->mix[0]));
    }
    assert_true(w->n_pairs == 0 || w->n_pairs == AGG_NPAIRS);
    if (w->n_pairs > 0) {
        memcpy(s->pairs[s->n], w->pairs, sizeof(s->pairs[0]));
    }
    s->n++;
    return 0;
}

struct read_arg {
    int how; /* 0 agg_read, 1 agg_read_head, 2 agg_read_part, 3 agg_read_rated */
    int32_t beh_from, beh_until;
    /* The read's window; both 0: MON0 + 2 to the sixth week's Thursday. */
    int32_t from, until;
    struct seen s;
    int rc;
};

static int read_txn(struct store_txn *t, void *arg)
{
    struct read_arg *ra = arg;
    int32_t from = MON0 + 2, until = MON0 + 7 * WEEKS + 3; /* any day of a week */

    if (ra->from != 0 || ra->until != 0) {
        from = ra->from;
        until = ra->until;
    }
    memset(&ra->s, 0, sizeof(ra->s));
    if (ra->how == 0) {
        ra->rc = agg_read(t, AGG_COACH, "flm.x", RUBRIC, from, until, seen_cb, &ra->s);
    } else if (ra->how == 1) {
        ra->rc = agg_read_head(t, AGG_COACH, "flm.x", RUBRIC, from, until, seen_cb, &ra->s);
    } else if (ra->how == 2) {
        ra->rc = agg_read_part(t, AGG_COACH, "flm.x", RUBRIC, from, until, ra->beh_from,
                               ra->beh_until, seen_cb, &ra->s);
    } else {
        ra->rc = agg_read_rated(t, AGG_COACH, "flm.x", RUBRIC, from, until, seen_cb, &ra->s);
    }
    return 0;
}

static void assert_same_week(const struct seen *a, const struct seen *b, int i)
{
    const Coachq__V1__AggWeek *x = &a->w[i], *y = &b->w[i];

    assert_int_equal(a->monday[i], b->monday[i]);
    assert_int_equal(x->observations, y->observations);
    assert_int_equal(x->seconds, y->seconds);
    assert_int_equal(x->index_n, y->index_n);
    assert_true(x->index_sum == y->index_sum && x->index_sumsq == y->index_sumsq);
    assert_int_equal(x->self_assess_n, y->self_assess_n);
    assert_true(x->self_assess_s_sum == y->self_assess_s_sum);
    assert_int_equal(x->actions, y->actions);
    assert_int_equal(x->double_coded, y->double_coded);
    assert_int_equal(x->recordings, y->recordings);
    assert_int_equal(x->recordings_rep_first, y->recordings_rep_first);
    assert_int_equal(x->n_mix, y->n_mix);
    assert_int_equal(x->n_pairs, y->n_pairs);
    assert_memory_equal(a->markers[i], b->markers[i], sizeof(a->markers[i]));
    assert_memory_equal(a->mix[i], b->mix[i], sizeof(a->mix[i]));
    assert_memory_equal(a->pairs[i], b->pairs[i], sizeof(a->pairs[i]));
}

/* A new store in a new temporary directory (its path in dir, n bytes)
 * holding put_txn()'s values, the week corrupt_week's damaged (-1: none). */
static struct store *store_with_values(char *dir, size_t n, int corrupt_week)
{
    struct put_arg pa = {corrupt_week};
    struct store *s;

    testutil_tmpdir(dir, n);
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, put_txn, &pa), 0);
    return s;
}

static void test_read_head_store(void **state)
{
    char dir[512];
    struct store *s;
    struct read_arg full, head, part, rated;

    (void)state;
    testutil_watchdog(60);
    s = store_with_values(dir, sizeof(dir), -1);
    memset(&full, 0, sizeof(full));
    memset(&head, 0, sizeof(head));
    memset(&part, 0, sizeof(part));
    memset(&rated, 0, sizeof(rated));
    head.how = 1;
    part.how = 2;
    rated.how = 3;
    /* Behaviours for the weeks of MON0 + 14 and MON0 + 21 only (any day
     * stands for its week). */
    part.beh_from = MON0 + 14 + 6;
    part.beh_until = MON0 + 21 + 1;
    assert_int_equal(store_view(s, read_txn, &full), 0);
    assert_int_equal(store_view(s, read_txn, &head), 0);
    assert_int_equal(store_view(s, read_txn, &part), 0);
    assert_int_equal(store_view(s, read_txn, &rated), 0);
    assert_int_equal(full.rc, 0);
    assert_int_equal(head.rc, 0);
    assert_int_equal(part.rc, 0);
    assert_int_equal(rated.rc, 0);
    assert_int_equal(rated.s.n, WEEKS);
    assert_int_equal(full.s.n, WEEKS);
    assert_int_equal(head.s.n, WEEKS);
    assert_int_equal(part.s.n, WEEKS);
    for (int i = 0; i < WEEKS; i++) {
        int in = full.s.monday[i] == MON0 + 14 || full.s.monday[i] == MON0 + 21;

        assert_int_equal(full.s.monday[i], MON0 + 7 * i);
        assert_same_week(&full.s, &head.s, i);
        assert_same_week(&full.s, &part.s, i);
        assert_int_equal(full.s.nb[i], 10);
        assert_int_equal(head.s.nb[i], 0);
        assert_int_equal(part.s.nb[i], in ? 10 : 0);
        assert_same_week(&full.s, &rated.s, i);
        assert_int_equal(rated.s.nb[i], 1);
        assert_string_equal(rated.s.id0[i], AGG_RATED);
        assert_int_equal(rated.s.bcount[i], full.s.bcount[i]);
        assert_true(rated.s.bsum[i] == full.s.bsum[i] && rated.s.bsumsq[i] == full.s.bsumsq[i]);
        assert_int_equal(rated.s.bprof[i], full.s.bprof[i]);
        assert_true(full.s.bcount[i] > 0);
    }
    /* An empty window of behaviours is a head-only read. */
    part.beh_from = MON0 + 7;
    part.beh_until = MON0;
    assert_int_equal(store_view(s, read_txn, &part), 0);
    for (int i = 0; i < WEEKS; i++) {
        assert_int_equal(part.s.nb[i], 0);
    }
    store_close(s);
    testutil_rmrf(dir);

    /* A damaged value: every read that reaches it fails alike. */
    s = store_with_values(dir, sizeof(dir), 3);
    part.beh_from = MON0;
    part.beh_until = MON0;
    assert_int_equal(store_view(s, read_txn, &full), 0);
    assert_int_equal(store_view(s, read_txn, &head), 0);
    assert_int_equal(store_view(s, read_txn, &part), 0);
    assert_int_equal(store_view(s, read_txn, &rated), 0);
    assert_int_equal(full.rc, -EIO);
    assert_int_equal(head.rc, -EIO);
    assert_int_equal(part.rc, -EIO);
    assert_int_equal(rated.rc, -EIO);
    assert_int_equal(rated.s.n, 3);
    assert_int_equal(full.s.n, 3);
    assert_int_equal(head.s.n, 3);
    assert_int_equal(part.s.n, 3);
    store_close(s);
    testutil_rmrf(dir);
}

/* A window that starts on a Wednesday and ends on the Tuesday of the same
 * week (until is the earlier day) is that week, behaviours and all: any day
 * stands for its week, for the behaviours as for the weeks read. */
static void test_read_mid_week(void **state)
{
    char dir[512];
    struct store *s;
    struct read_arg full, rated;
    const int32_t wed = MON0 + 14 + 2, tue = MON0 + 14 + 1;

    (void)state;
    testutil_watchdog(60);
    s = store_with_values(dir, sizeof(dir), -1);
    memset(&full, 0, sizeof(full));
    memset(&rated, 0, sizeof(rated));
    rated.how = 3;
    full.from = rated.from = wed;
    full.until = rated.until = tue;
    assert_int_equal(store_view(s, read_txn, &full), 0);
    assert_int_equal(store_view(s, read_txn, &rated), 0);
    assert_int_equal(full.rc, 0);
    assert_int_equal(rated.rc, 0);
    assert_int_equal(full.s.n, 1);
    assert_int_equal(rated.s.n, 1);
    assert_int_equal(full.s.monday[0], MON0 + 14);
    assert_int_equal(rated.s.monday[0], MON0 + 14);
    assert_int_equal(full.s.nb[0], 10);
    assert_true(full.s.bcount[0] > 0);
    assert_int_equal(rated.s.nb[0], 1);
    assert_string_equal(rated.s.id0[0], AGG_RATED);
    assert_int_equal(rated.s.bcount[0], full.s.bcount[0]);
    assert_int_equal(rated.s.bprof[0], full.s.bprof[0]);
    assert_true(rated.s.bsum[0] == full.s.bsum[0] && rated.s.bsumsq[0] == full.s.bsumsq[0]);
    store_close(s);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_equals_full),   cmocka_unit_test(test_head_refuses_alike),
        cmocka_unit_test(test_head_then_full_ids), cmocka_unit_test(test_read_head_store),
        cmocka_unit_test(test_read_mid_week),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
