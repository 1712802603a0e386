/*
 * test_agg_line_impact: aggregate format 7 (agg.h, "Line-coach blocks"):
 * the line-coach blocks (AGG_LINE_IMPACT) give what agg_read_slots() gives
 * of the same AGG_LINE_COACH weeks (hand-built figures, seconds past 2^32,
 * no behaviour, no block past 2,000 bytes), and every block's weeks carry
 * their session seconds; after random batches (amendments moving sessions
 * between weeks and blocks, and between managers) every block the writer
 * left is byte for byte what the stored weeks make; a store of format 5 or
 * 6 (format 6's blocks without seconds, no line-coach block) is brought to
 * 7 when opened, with the blocks the writer would have made, and with the
 * step disabled the old blocks are refused and verify fails until
 * repaired; a store of format 7 reopened is left as it is; verify names a
 * line-coach block with other figures, a missing one and an orphan; a
 * damaged AGG_LINE_COACH week stops neither the writer's patch of its
 * block nor the upgrade (which leaves it out), a damaged block is made
 * again from its weeks by the writer, until --repair, and so is a missing
 * block other weeks of which are stored.
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
#include "keys.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* Wednesday 2025-03-05 10:00 UTC, in the week of Monday 20150 (2025-W10). */
#define T0 1741168800LL
#define MON0 20150
#define WEEK_S (7 * 86400LL)
/* A week of a block: u32 observations, u32 index_n, f64 index_sum, f64
 * index_sumsq, u32 mix[AGG_NMIX], u64 seconds (format 7's 8 bytes). */
#define WEEK_V2 (4 + 4 + 8 + 8 + 4 * AGG_NMIX + 8)
#define BEH_SIZE 20
#define MAX_KEYS 512
#define NCOACH 3
#define RUBRIC "coaching-conversation" /* testutil_obs_make()'s */

static const char *const coaches[NCOACH] = {"flm.cara", "flm.dan", "mgr.jones"};

/* The rep of each of coaches[] in the seeded organisation. */
static const char *rep_of(const char *coach)
{
    return strcmp(coach, "flm.dan") == 0     ? "rep.jon"
           : strcmp(coach, "mgr.jones") == 0 ? "rep.kim"
                                             : "rep.ida";
}

/* ---- The stored blocks ------------------------------------------------------ */

/* Every stored key and value of the block kinds (a copy). */
struct dump {
    size_t n, line;
    size_t klen[MAX_KEYS], vlen[MAX_KEYS];
    uint8_t key[MAX_KEYS][AGG_KEY_MAX];
    uint8_t *val[MAX_KEYS];
};

static void dump_free(struct dump *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->val[i]);
    }
    memset(d, 0, sizeof(*d));
}

static int dump_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct dump *d = arg;

    if (!AGG_KIND_IMPACT(key[0])) {
        return 0;
    }
    assert_true(d->n < MAX_KEYS && klen <= AGG_KEY_MAX);
    memcpy(d->key[d->n], key, klen);
    d->klen[d->n] = klen;
    d->val[d->n] = malloc(vlen);
    assert_non_null(d->val[d->n]);
    memcpy(d->val[d->n], val, vlen);
    d->vlen[d->n] = vlen;
    d->line += key[0] == AGG_LINE_IMPACT;
    d->n++;
    return 0;
}

static int dump_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, dump_cb, arg);
}

static void dump_blocks(struct store *s, struct dump *d)
{
    memset(d, 0, sizeof(*d));
    assert_int_equal(store_view(s, dump_txn, d), 0);
}

/* The two dumps hold the same keys with the same bytes. */
static void assert_same_dump(const struct dump *a, const struct dump *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->klen[i], b->klen[i]);
        assert_memory_equal(a->key[i], b->key[i], a->klen[i]);
        assert_int_equal(a->vlen[i], b->vlen[i]);
        assert_memory_equal(a->val[i], b->val[i], a->vlen[i]);
    }
}

static int build_all_txn(struct store_txn *t, void *arg)
{
    uint64_t n = 0;

    (void)arg;
    return agg_impact_build_all(t, AGG_IMPACT_BUILD_ALL, &n);
}

/* Every block made again from the stored weeks (agg_impact_build_all(),
 * as the rebuild and the migrations make them) changes no byte of what
 * the writer left: a block is what its weeks make, and nothing else. */
static void assert_blocks_are_the_weeks(struct store *s)
{
    struct dump a, b;

    dump_blocks(s, &a);
    assert_int_equal(store_exec(s, build_all_txn, NULL), 0);
    dump_blocks(s, &b);
    assert_same_dump(&a, &b);
    dump_free(&a);
    dump_free(&b);
}

/* ---- Reads compared ----------------------------------------------------- */

/* The line-coach scopes ("<manager>/<coach>") with a stored week. */
struct scopes {
    size_t n;
    char id[32][140];
};

static int scopes_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct scopes *sc = arg;
    char id[140];

    (void)val;
    (void)vlen;
    if (klen < 2 || key[0] != AGG_LINE_COACH || (size_t)key[1] + 2 > klen || key[1] >= sizeof(id)) {
        return 0;
    }
    memcpy(id, key + 2, key[1]);
    id[key[1]] = '\0';
    if (sc->n == 0 || strcmp(sc->id[sc->n - 1], id) != 0) {
        assert_true(sc->n < 32);
        snprintf(sc->id[sc->n++], sizeof(sc->id[0]), "%s", id);
    }
    return 0;
}

static int scopes_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, scopes_cb, arg);
}

struct week_fig {
    int32_t monday;
    uint64_t observations, index_n, seconds;
    double index_sum, index_sumsq;
    uint64_t mix[AGG_NMIX];
    size_t nb;
};

struct weeks {
    size_t n;
    struct week_fig w[128];
};

static int weeks_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    struct weeks *ws = arg;
    struct week_fig *w;

    assert_true(ws->n < 128);
    w = &ws->w[ws->n++];
    w->monday = monday;
    w->observations = a->observations;
    w->index_n = a->index_n;
    w->seconds = a->seconds;
    w->index_sum = a->index_sum;
    w->index_sumsq = a->index_sumsq;
    memcpy(w->mix, a->mix, sizeof(w->mix));
    w->nb = a->nb;
    return 0;
}

struct both {
    enum agg_scope kind;
    const char *scope;
    struct weeks slots, blocks;
    int rc_slots, rc_blocks;
};

static int both_txn(struct store_txn *t, void *arg)
{
    struct both *b = arg;
    int32_t from = MON0 - 7 * 40, until = MON0 + 7 * 80;

    b->slots.n = 0;
    b->blocks.n = 0;
    b->rc_slots = agg_read_slots(t, b->kind, b->scope, RUBRIC, from, until, 1, 0, NULL, 0, weeks_cb,
                                 &b->slots);
    b->rc_blocks = agg_read_impact(t, b->kind, b->scope, RUBRIC, from, until, from, until, NULL, 0,
                                   weeks_cb, &b->blocks);
    return 0;
}

/* Both reads of scope's weeks of kind give the same weeks and figures,
 * the seconds too; a line-coach block's weeks list no behaviour. Returns
 * the weeks and adds their seconds to *seconds. */
static size_t assert_reads_agree(struct store *s, enum agg_scope kind, const char *scope,
                                 uint64_t *seconds)
{
    static struct both b;

    memset(&b, 0, sizeof(b));
    b.kind = kind;
    b.scope = scope;
    assert_int_equal(store_view(s, both_txn, &b), 0);
    assert_int_equal(b.rc_slots, 0);
    assert_int_equal(b.rc_blocks, 0);
    assert_int_equal(b.slots.n, b.blocks.n);
    for (size_t i = 0; i < b.slots.n; i++) {
        const struct week_fig *x = &b.slots.w[i], *y = &b.blocks.w[i];

        assert_int_equal(x->monday, y->monday);
        assert_int_equal(x->observations, y->observations);
        assert_int_equal(x->index_n, y->index_n);
        assert_int_equal(x->seconds, y->seconds);
        assert_true(x->index_sum == y->index_sum);
        assert_true(x->index_sumsq == y->index_sumsq);
        assert_memory_equal(x->mix, y->mix, sizeof(x->mix));
        if (kind == AGG_LINE_COACH) {
            assert_int_equal(y->nb, 0);
        }
        *seconds += y->seconds;
    }
    return b.slots.n;
}

/* Every line-coach scope and every coach read both ways; the line-coach
 * weeks' number. */
static size_t assert_all_reads_agree(struct store *s)
{
    struct scopes sc;
    size_t n = 0;
    uint64_t sec = 0;

    memset(&sc, 0, sizeof(sc));
    assert_int_equal(store_view(s, scopes_txn, &sc), 0);
    for (size_t i = 0; i < sc.n; i++) {
        n += assert_reads_agree(s, AGG_LINE_COACH, sc.id[i], &sec);
    }
    for (size_t i = 0; i < NCOACH; i++) {
        (void)assert_reads_agree(s, AGG_COACH, coaches[i], &sec);
    }
    return n;
}

/* ---- Hand-built weeks ----------------------------------------------------- */

#define HAND_WEEKS 40
#define HAND_SCOPE "slm.eve/flm.cara"

/* Puts week w of HAND_SCOPE's AGG_LINE_COACH value (every third week
 * missing): figures that differ from one another (observations, index_n,
 * seconds past 2^32 on some weeks, the mix) and behaviours, which a
 * line-coach block leaves out. */
static int hand_txn(struct store_txn *t, void *arg)
{
    uint64_t *blocks = arg;
    int rc = 0;

    for (int w = 0; w < HAND_WEEKS && rc == 0; w++) {
        struct keys_buf k;
        struct agg_val v;
        struct agg_beh *b;

        if (w % 3 == 2) {
            continue;
        }
        memset(&v, 0, sizeof(v));
        v.observations = 3 + w % 7;
        v.index_n = 1 + w % 3;
        v.seconds = 600LL * (w + 1) + (w % 5 == 0 ? 5000000000LL : 0);
        v.index_sum = 0.25 * (w + 3);
        v.index_sumsq = 0.5 * (w + 5);
        for (int i = 0; i < AGG_NMIX; i++) {
            v.mix[i] = (w + i) % 5;
        }
        b = agg_val_beh(&v, "beh-0");
        assert_non_null(b);
        b->count = 1;
        b->sum = 3;
        b->sumsq = 9;
        assert_int_equal(agg_key(&k, AGG_LINE_COACH, HAND_SCOPE, RUBRIC, 1, MON0 + 7 * w), 0);
        rc = agg_val_put(t, k.b, k.len, &v);
        agg_val_free(&v);
    }
    return rc != 0 ? rc : agg_impact_build_all(t, AGG_IMPACT_BUILD_LINE, blocks);
}

/* The blocks made of hand-built line-coach weeks give every figure
 * agg_read_slots() gives of them (seconds past 2^32 whole), no behaviour,
 * and stay under 2,000 bytes (inline in a leaf, agg.h). */
static void test_hand_built(void **state)
{
    char dir[512];
    struct store *s;
    struct dump d;
    uint64_t blocks = 0, sec = 0, want = 0;
    int32_t first = agg_impact_block_of(MON0);

    (void)state;
    testutil_watchdog(60);
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, hand_txn, &blocks), 0);
    assert_int_equal(blocks, (size_t)((MON0 + 7 * (HAND_WEEKS - 1) - first) / 7 / 16 + 1));
    assert_int_equal(assert_reads_agree(s, AGG_LINE_COACH, HAND_SCOPE, &sec),
                     HAND_WEEKS - HAND_WEEKS / 3);
    for (int w = 0; w < HAND_WEEKS; w++) {
        if (w % 3 != 2) {
            want += 600ULL * (uint64_t)(w + 1) + (w % 5 == 0 ? 5000000000ULL : 0);
        }
    }
    assert_int_equal(sec, want);
    dump_blocks(s, &d);
    assert_int_equal(d.line, blocks);
    for (size_t i = 0; i < d.n; i++) {
        assert_true(d.vlen[i] <= 8 + AGG_IMPACT_WEEKS * WEEK_V2);
        assert_true(d.vlen[i] < 2000);
    }
    dump_free(&d);
    store_close(s);
    testutil_rmrf(dir);
}

/* ---- Through the writer --------------------------------------------------- */

struct diffs {
    int n;
    char all[4096];
};

static void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;
    size_t len = strlen(d->all);

    d->n++;
    snprintf(d->all + len, sizeof(d->all) - len, "%s: %s\n", key, what);
}

static uint64_t verify(struct store *s, int repair, struct diffs *d)
{
    struct agg_verify_result r;

    memset(d, 0, sizeof(*d));
    assert_int_equal(agg_verify(s, repair, diff_cb, d, &r), 0);
    return r.differences;
}

/* Stores one session of coach at started_at lasting dur seconds. */
static void submit(struct store *s, struct testutil_obs *t, const char *coach, int64_t started_at,
                   uint32_t dur, const uint8_t *amends)
{
    testutil_obs_make(t, coach, rep_of(coach), started_at);
    t->o.duration_s = dur;
    if (amends != NULL) {
        t->o.amends.data = (uint8_t *)amends;
        t->o.amends.len = 16;
    }
    assert_int_equal(testutil_store_submit(s, &t->o, "alice", testutil_now_ms()), 0);
}

/* A batch of random sessions: new ones, and amendments of earlier ones
 * (moving them to another week, often another block, and about one in
 * three to another manager, so to another line-coach scope). */
#define BATCH 12
#define KEPT 64
struct random_load {
    unsigned seed;
    struct testutil_obs o[BATCH];
    uint8_t *buf[BATCH];
    uint8_t amends[BATCH][16];
    uint8_t kept[KEPT][16]; /* the latest version of each session */
    int kept_coach[KEPT];
    int nkept, moved; /* moved: amendments to another manager */
};

static unsigned next_rand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static void random_fill(void *arg, struct store_write *w, int i)
{
    struct random_load *rl = arg;
    int c = (int)(next_rand(&rl->seed) % NCOACH);
    int k = -1;
    int64_t at =
        T0 + (int64_t)(next_rand(&rl->seed) % 40) * WEEK_S + (int64_t)(next_rand(&rl->seed) % 5000);
    struct testutil_obs *t = &rl->o[i];
    size_t len;

    if (rl->nkept > 0 && next_rand(&rl->seed) % 3 == 0) {
        /* Two amendments in three keep their session's manager; the third
         * moves it to a random one, so its weeks leave one line-coach
         * scope's block for another's. */
        k = (int)(next_rand(&rl->seed) % (unsigned)rl->nkept);
        if (next_rand(&rl->seed) % 3 != 0) {
            c = rl->kept_coach[k];
        }
        rl->moved += c != rl->kept_coach[k];
        rl->kept_coach[k] = c;
    }
    testutil_obs_make(t, coaches[c], rep_of(coaches[c]), at);
    t->o.duration_s = 60 + next_rand(&rl->seed) % 5400;
    if (k >= 0) {
        memcpy(rl->amends[i], rl->kept[k], 16);
        t->o.amends.data = rl->amends[i];
        t->o.amends.len = 16;
        memcpy(rl->kept[k], t->id, 16);
    } else if (rl->nkept < KEPT) {
        memcpy(rl->kept[rl->nkept], t->id, 16);
        rl->kept_coach[rl->nkept++] = c;
    }
    len = coachq__v1__observation__get_packed_size(&t->o);
    rl->buf[i] = malloc(len);
    assert_non_null(rl->buf[i]);
    coachq__v1__observation__pack(&t->o, rl->buf[i]);
    memset(w, 0, sizeof(*w));
    w->obs = rl->buf[i];
    w->obs_len = len;
    w->observer_id = "alice";
    w->received_at_ms = testutil_now_ms();
}

/* After each of several random batches, the blocks the writer left are
 * byte for byte those the stored weeks make, both reads agree, and verify
 * (against the records) finds nothing. */
static void test_writer_random(void **state)
{
    struct testutil_seeded *f = *state;
    static struct random_load rl;
    struct diffs df;
    struct dump d;

    memset(&rl, 0, sizeof(rl));
    rl.seed = 20261206u;
    for (int round = 0; round < 6; round++) {
        testutil_write_one_batch(f->s, BATCH, random_fill, testutil_check_stored, &rl, NULL, 0);
        for (int i = 0; i < BATCH; i++) {
            free(rl.buf[i]);
        }
        dump_blocks(f->s, &d);
        assert_true(d.line > 0);
        dump_free(&d);
        assert_blocks_are_the_weeks(f->s);
        assert_true(assert_all_reads_agree(f->s) > 0);
        assert_int_equal(verify(f->s, 0, &df), 0);
    }
    assert_true(rl.moved > 0);
}

/* ---- Older formats ---------------------------------------------------------- */

/* A format-6 block (version 1: a week without its seconds) made of the
 * format-7 block val into out; its size. */
static size_t block_v1(const uint8_t *val, size_t vlen, uint8_t *out)
{
    size_t p = 8, nb = keys_get_le32(val + 4), o;
    unsigned mask = (unsigned)val[2] | (unsigned)val[3] << 8;

    for (size_t i = 0; i < nb; i++) {
        p += 1 + val[p];
    }
    memcpy(out, val, p);
    out[0] = 1;
    o = p;
    for (unsigned k = 0; k < AGG_IMPACT_WEEKS; k++) {
        if (!(mask >> k & 1u)) {
            continue;
        }
        memcpy(out + o, val + p, WEEK_V2 - 8);
        o += WEEK_V2 - 8;
        p += WEEK_V2;
        memcpy(out + o, val + p, nb * BEH_SIZE);
        o += nb * BEH_SIZE;
        p += nb * BEH_SIZE;
    }
    assert_int_equal(p, vlen);
    return o;
}

/* back_to()'s visit: deletes or rewrites one impact block. */
static void back_to_visit(MDB_cursor *cur, const MDB_val *k, const MDB_val *v, void *arg)
{
    uint32_t from = *(const uint32_t *)arg;
    uint8_t kind = ((const uint8_t *)k->mv_data)[0];
    uint8_t *old;
    uint8_t kb[AGG_KEY_MAX];
    MDB_val nk, nv;

    if (!AGG_KIND_IMPACT(kind)) {
        return;
    }
    if (from == 5 || kind == AGG_LINE_IMPACT) {
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
        return;
    }
    /* The key is copied out of the page the put rewrites. */
    old = malloc(v->mv_size);
    assert_non_null(old);
    assert_true(k->mv_size <= sizeof(kb));
    memcpy(kb, k->mv_data, k->mv_size);
    nk.mv_data = kb;
    nk.mv_size = k->mv_size;
    nv.mv_size = block_v1(v->mv_data, v->mv_size, old);
    nv.mv_data = old;
    assert_int_equal(mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT), 0);
    free(old);
}

/* Turns the closed store in dir back into format from's layout (5: no
 * block; 6: the managers' blocks of version 1, no line-coach block) with
 * the format key saying format. */
static void back_to(const char *dir, uint32_t from, uint32_t format)
{
    testutil_lmdb_agg_each(dir, format, back_to_visit, &from);
}

static void seed_sessions(struct store *s)
{
    struct testutil_obs o;

    submit(s, &o, "flm.cara", T0, 1800, NULL);
    submit(s, &o, "flm.cara", T0 + 3600, 600, NULL);
    submit(s, &o, "flm.cara", T0 + 20 * WEEK_S, 2400, NULL);
    submit(s, &o, "flm.dan", T0 + WEEK_S, 900, NULL);
    submit(s, &o, "mgr.jones", T0 + 2 * WEEK_S, 1200, NULL);
}

/* Stores of formats 5 and 6 opened get exactly the blocks the writer
 * made (byte for byte), verify passes, and the reads agree. With the
 * format key claiming 7 (the step does not run), a format-6 block is
 * refused by the reader (the page fails rather than shows a made-up
 * figure), verify names it and every line-coach week without its block,
 * and --repair mends it. */
static void test_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    static const uint32_t froms[] = {5, 6};
    struct dump before, after;
    struct diffs df;
    uint32_t format = 0;
    static struct both b;

    seed_sessions(f->s);
    dump_blocks(f->s, &before);
    /* flm.cara in two blocks, flm.dan and mgr.jones in one each: four
     * managers' blocks, and four line-coach blocks of four weeks. */
    assert_int_equal(before.line, 4);
    assert_int_equal(before.n, 4 + 4);
    for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
        testutil_store_close_drained(f->s);
        f->s = NULL;
        back_to(f->dir, froms[i], froms[i]);
        f->s = testutil_store_open_enforced(f->dir);
        assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
        assert_int_equal(format, AGG_FORMAT);
        dump_blocks(f->s, &after);
        assert_same_dump(&before, &after);
        dump_free(&after);
        assert_int_equal(assert_all_reads_agree(f->s), 4);
        assert_int_equal(verify(f->s, 0, &df), 0);
    }
    /* The step disabled. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to(f->dir, 6, AGG_FORMAT);
    f->s = testutil_store_open_enforced(f->dir);
    memset(&b, 0, sizeof(b));
    b.kind = AGG_COACH;
    b.scope = "flm.cara";
    assert_int_equal(store_view(f->s, both_txn, &b), 0);
    assert_int_equal(b.rc_blocks, -EIO);
    /* 4 managers' blocks differ (version 1), 4 line-coach weeks lack theirs. */
    assert_int_equal(verify(f->s, 1, &df), 4 + 4);
    assert_non_null(strstr(df.all, "impact block differs"));
    assert_non_null(strstr(df.all, "missing its impact block"));
    assert_int_equal(verify(f->s, 0, &df), 0);
    dump_blocks(f->s, &after);
    assert_same_dump(&before, &after);
    dump_free(&after);
    assert_int_equal(assert_all_reads_agree(f->s), 4);
    dump_free(&before);
}

/* ---- Verify and damage ------------------------------------------------------ */

/* The first line-coach block: one more observation in its first week,
 * deleted (del), or with a week in its mask that it has no bytes for
 * (phantom: the first week not stored). */
struct line_tamper {
    int del, phantom;
    char text[256];
};

static int first_line_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    uint8_t(*out)[AGG_KEY_MAX + 1] = arg;

    (void)val;
    (void)vlen;
    if (key[0] != AGG_LINE_IMPACT) {
        return 0;
    }
    (*out)[0] = (uint8_t)klen;
    memcpy(*out + 1, key, klen);
    return 1;
}

static int line_tamper_txn(struct store_txn *t, void *arg)
{
    struct line_tamper *lt = arg;
    uint8_t k[AGG_KEY_MAX + 1];
    MDB_val v;
    uint8_t *copy;
    int rc;

    k[0] = 0;
    assert_true(store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, first_line_cb, &k) >= 0);
    assert_true(k[0] > 0);
    agg_key_text(k + 1, k[0], lt->text, sizeof(lt->text));
    if (lt->del) {
        return store_txn_del(t, t->s->dbi_agg, k + 1, k[0]);
    }
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k + 1, k[0], &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    /* A line-coach block lists no behaviour: the first week is at 8. */
    assert_int_equal(keys_get_le32(copy + 4), 0);
    if (lt->phantom) {
        unsigned mask = (unsigned)copy[2] | (unsigned)copy[3] << 8;
        unsigned k0 = 0;

        while (k0 < AGG_IMPACT_WEEKS && (mask >> k0 & 1u)) {
            k0++;
        }
        assert_true(k0 < AGG_IMPACT_WEEKS);
        mask |= 1u << k0;
        copy[2] = (uint8_t)mask;
        copy[3] = (uint8_t)(mask >> 8);
    } else {
        keys_put_le32(copy + 8, keys_get_le32(copy + 8) + 1);
    }
    rc = store_txn_put_raw(t, t->s->dbi_agg, k + 1, k[0], copy, v.mv_size, NULL);
    free(copy);
    return rc;
}

/* verify names a line-coach block whose figures differ from its weeks',
 * and a line-coach week whose block is missing; --repair mends both. */
static void test_verify_line_blocks(void **state)
{
    struct testutil_seeded *f = *state;
    struct line_tamper lt;
    struct diffs df;

    seed_sessions(f->s);
    store_drain(f->s);
    assert_int_equal(verify(f->s, 0, &df), 0);
    memset(&lt, 0, sizeof(lt));
    assert_int_equal(store_exec(f->s, line_tamper_txn, &lt), 0);
    assert_non_null(strstr(lt.text, "line-impact/"));
    assert_int_equal(verify(f->s, 1, &df), 1);
    assert_non_null(strstr(df.all, "line-impact/"));
    assert_non_null(strstr(df.all, "impact block differs"));
    assert_int_equal(verify(f->s, 0, &df), 0);
    lt.del = 1;
    assert_int_equal(store_exec(f->s, line_tamper_txn, &lt), 0);
    assert_true(verify(f->s, 1, &df) >= 1);
    assert_non_null(strstr(df.all, "line-coach/"));
    assert_non_null(strstr(df.all, "missing its impact block"));
    assert_int_equal(verify(f->s, 0, &df), 0);
    assert_blocks_are_the_weeks(f->s);
}

/* Gives flm.cara's first AGG_LINE_COACH value of MON0 a version no
 * reader takes. */
static int damage_line_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          void *arg)
{
    uint8_t(*out)[AGG_KEY_MAX + 1] = arg;
    static const char coach[] = "/flm.cara";

    (void)val;
    (void)vlen;
    if (key[0] != AGG_LINE_COACH || klen < 2 + sizeof(coach) ||
        keys_day_decode(key + klen - 4) != MON0 || (size_t)key[1] + 2 > klen ||
        key[1] < sizeof(coach) - 1 ||
        memcmp(key + 2 + key[1] - (sizeof(coach) - 1), coach, sizeof(coach) - 1) != 0) {
        return 0;
    }
    (*out)[0] = (uint8_t)klen;
    memcpy(*out + 1, key, klen);
    return 1;
}

static int damage_line_txn(struct store_txn *t, void *arg)
{
    uint8_t k[AGG_KEY_MAX + 1];
    MDB_val v;
    uint8_t *copy;
    int rc;

    (void)arg;
    k[0] = 0;
    assert_true(store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, damage_line_cb, &k) >= 0);
    assert_true(k[0] > 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k + 1, k[0], &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[0] = 0xee;
    rc = store_txn_put_raw(t, t->s->dbi_agg, k + 1, k[0], copy, v.mv_size, NULL);
    free(copy);
    return rc;
}

/* The line-coach weeks of flm.cara as its block gives them. */
struct line_weeks {
    char scope[140];
    struct weeks w;
    int rc;
};

static int line_weeks_txn(struct store_txn *t, void *arg)
{
    struct line_weeks *lw = arg;

    lw->w.n = 0;
    lw->rc = agg_read_impact(t, AGG_LINE_COACH, lw->scope, RUBRIC, MON0 - 7 * 40, MON0 + 7 * 80, 1,
                             0, NULL, 0, weeks_cb, &lw->w);
    return 0;
}

static size_t cara_line_weeks(struct store *s)
{
    static struct line_weeks lw;
    struct scopes sc;

    memset(&sc, 0, sizeof(sc));
    assert_int_equal(store_view(s, scopes_txn, &sc), 0);
    memset(&lw, 0, sizeof(lw));
    for (size_t i = 0; i < sc.n; i++) {
        if (strstr(sc.id[i], "/flm.cara") != NULL) {
            snprintf(lw.scope, sizeof(lw.scope), "%s", sc.id[i]);
        }
    }
    assert_true(lw.scope[0] != '\0');
    assert_int_equal(store_view(s, line_weeks_txn, &lw), 0);
    assert_int_equal(lw.rc, 0);
    return lw.w.n;
}

/* A damaged AGG_LINE_COACH value (not -EIO for anyone: see
 * test_agg_impact's damaged weeks): the writer, in a batch touching
 * another week of its block, patches that week only and goes on (the
 * block keeps what it had of the damaged week; verify names the value and
 * --repair makes it again); a line-coach block not well formed is made again from
 * its weeks by the next batch that touches it, not patched; a store of
 * format 6 with a damaged week opens, its block made without it, and
 * --repair mends both. */
static void test_damaged_line_week(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct line_tamper lt;
    struct diffs df;

    submit(f->s, &a, "flm.cara", T0, 1800, NULL);
    assert_int_equal(cara_line_weeks(f->s), 1);
    assert_int_equal(store_exec(f->s, damage_line_txn, NULL), 0);
    submit(f->s, &b, "flm.cara", T0 + WEEK_S, 600, NULL);
    assert_false(store_failed(f->s));
    assert_int_equal(agg_impact_block_of(MON0 + 7), agg_impact_block_of(MON0));
    assert_int_equal(cara_line_weeks(f->s), 2);
    assert_true(verify(f->s, 1, &df) >= 2);
    assert_non_null(strstr(df.all, "stored value does not decode"));
    assert_int_equal(verify(f->s, 0, &df), 0);
    assert_int_equal(cara_line_weeks(f->s), 2);
    /* A block whose mask does not match its size: the next batch makes it
     * from its weeks. */
    memset(&lt, 0, sizeof(lt));
    lt.phantom = 1;
    assert_int_equal(store_exec(f->s, line_tamper_txn, &lt), 0);
    submit(f->s, &c, "flm.cara", T0 + WEEK_S + 60, 300, NULL);
    assert_false(store_failed(f->s));
    assert_int_equal(verify(f->s, 0, &df), 0);
    assert_blocks_are_the_weeks(f->s);
    /* The week damaged in a store of format 6, opened. */
    assert_int_equal(store_exec(f->s, damage_line_txn, NULL), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to(f->dir, 6, 6);
    f->s = testutil_store_open_enforced(f->dir);
    assert_false(store_failed(f->s));
    assert_int_equal(cara_line_weeks(f->s), 1);
    assert_true(verify(f->s, 1, &df) >= 2);
    assert_non_null(strstr(df.all, "impact block differs"));
    assert_int_equal(cara_line_weeks(f->s), 2);
    assert_int_equal(verify(f->s, 0, &df), 0);
}

/* drop_cara_line_blocks()'s visit: deletes flm.cara's line-coach block of
 * the block of MON0, counting it in *(int *)arg. */
static void drop_cara_visit(MDB_cursor *cur, const MDB_val *k, const MDB_val *v, void *arg)
{
    static const char coach[] = "/flm.cara";
    const uint8_t *key = k->mv_data;
    size_t klen = k->mv_size;

    (void)v;
    if (key[0] != AGG_LINE_IMPACT || klen < 6 || (size_t)key[1] + 2 > klen - 4 ||
        key[1] < sizeof(coach) - 1 ||
        memcmp(key + 2 + key[1] - (sizeof(coach) - 1), coach, sizeof(coach) - 1) != 0 ||
        keys_day_decode(key + klen - 4) != agg_impact_block_of(MON0)) {
        return;
    }
    assert_int_equal(mdb_cursor_del(cur, 0), 0);
    (*(int *)arg)++;
}

/* Deletes, in the closed store in dir, by LMDB, flm.cara's line-coach
 * blocks of the block of MON0; how many. */
static int drop_cara_line_blocks(const char *dir)
{
    int n = 0;

    testutil_lmdb_agg_each(dir, 0, drop_cara_visit, &n);
    return n;
}

/* A line-coach block missing (deleted by hand) while other weeks of it are
 * stored: the next batch touching one of its weeks makes it from all its
 * weeks, not from the touched week alone, so verify finds nothing and the
 * block is what a rebuild makes. */
static void test_missing_line_block(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs o;
    struct diffs df;

    seed_sessions(f->s);
    assert_int_equal(cara_line_weeks(f->s), 2);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    assert_true(drop_cara_line_blocks(f->dir) >= 1);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(agg_impact_block_of(MON0 + 7), agg_impact_block_of(MON0));
    submit(f->s, &o, "flm.cara", T0 + WEEK_S, 600, NULL);
    store_drain(f->s);
    assert_false(store_failed(f->s));
    assert_int_equal(verify(f->s, 0, &df), 0);
    /* MON0's week and the new one, and the block of week 20. */
    assert_int_equal(cara_line_weeks(f->s), 3);
    assert_blocks_are_the_weeks(f->s);
}

/* Copies the first line-coach block to the same scope's block 100 weeks
 * later, where it has no week: an orphan. */
static int orphan_txn(struct store_txn *t, void *arg)
{
    uint8_t k[AGG_KEY_MAX + 1];
    MDB_val v;
    uint8_t *copy;
    size_t n;
    int rc;

    (void)arg;
    k[0] = 0;
    assert_true(store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, first_line_cb, &k) >= 0);
    assert_true(k[0] > 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k + 1, k[0], &v), 0);
    n = v.mv_size;
    copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, n);
    keys_day_encode(agg_impact_block_of(MON0 + 7 * 100), k + 1 + k[0] - 4);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k + 1, k[0], &v), -ENOENT);
    rc = store_txn_put_raw(t, t->s->dbi_agg, k + 1, k[0], copy, n, NULL);
    free(copy);
    return rc;
}

/* verify names a line-coach block none of whose weeks is stored, and
 * --repair deletes it. */
static void test_orphan_line_block(void **state)
{
    struct testutil_seeded *f = *state;
    struct dump before, after;
    struct diffs df;

    seed_sessions(f->s);
    store_drain(f->s);
    dump_blocks(f->s, &before);
    assert_int_equal(store_exec(f->s, orphan_txn, NULL), 0);
    dump_blocks(f->s, &after);
    assert_int_equal(after.line, before.line + 1);
    dump_free(&after);
    assert_int_equal(verify(f->s, 1, &df), 1);
    assert_non_null(strstr(df.all, "line-impact/"));
    assert_non_null(strstr(df.all, "impact block differs"));
    assert_int_equal(verify(f->s, 0, &df), 0);
    dump_blocks(f->s, &after);
    assert_same_dump(&before, &after);
    dump_free(&after);
    dump_free(&before);
}

/* A store already of format 7 reopened runs no step and no rebuild: a
 * line-coach block given one more observation before the close is still
 * so after the open (a step or rebuild would have made it again), and
 * verify names it. */
static void test_reopen_redoes_nothing(void **state)
{
    struct testutil_seeded *f = *state;
    struct line_tamper lt;
    struct dump before, after;
    struct diffs df;
    uint32_t format = 0;

    seed_sessions(f->s);
    memset(&lt, 0, sizeof(lt));
    assert_int_equal(store_exec(f->s, line_tamper_txn, &lt), 0);
    dump_blocks(f->s, &before);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
    assert_int_equal(format, AGG_FORMAT);
    dump_blocks(f->s, &after);
    assert_same_dump(&before, &after);
    dump_free(&after);
    dump_free(&before);
    assert_int_equal(verify(f->s, 1, &df), 1);
    assert_non_null(strstr(df.all, lt.text));
    assert_int_equal(verify(f->s, 0, &df), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built),
        cmocka_unit_test_setup_teardown(test_writer_random, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_verify_line_blocks, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_line_week, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_missing_line_block, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_orphan_line_block, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_redoes_nothing, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
