/*
 * test_actions_record: an action record's stored bytes (actions format 6,
 * store/actions_record.c). A record is stored at the size its first
 * follow-up gives it, so the follow-up rewrites it in its place; the bytes
 * follow from the record alone, so the writer's records are a rebuild's,
 * byte for byte, whatever the batches of agreements, follow-ups and
 * amendments; a store of format 5 gets its records padded on open, reading
 * no observation, and reads the same records after; `coachqd verify` finds
 * a record stored wrong, one missing and one that no observation gives, and
 * --repair mends each; a damaged pad reads as a damaged record, for that
 * record only.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "actions.h"
#include "actions_int.h"
#include "store.h"
#include "testutil.h"

/* "Today": 2024-06-12 (day 19886). */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
/* The slack store/actions_int.h gives a record (ACTIONS_RECORD_SLACK). */
#define SLACK 40
#define MAXV 2048

static const char *const coaches[2] = {"flm.a", "flm.b"};
static const char *const reps[2] = {"rep.1", "rep.2"};

/* One session of pair p (0 or 1) on day at hour, agreeing one action
 * (its id, derived by the store, into agreed) and following up n of
 * fu_ids with statuses st and evidence ev (NULL: none). amends: the root
 * id of the session this one amends (NULL: a new one), whose start and
 * action it keeps (act_id: the id it agreed). Returns the submit's code;
 * root gets the session's id. */
struct session {
    int pair;
    int32_t day;
    int hour;
    const uint8_t (*fu_ids)[16];
    const Coachq__V1__ActionStatus *st;
    const char *const *ev;
    size_t n;
    const uint8_t *amends;
    const uint8_t *act_id;
    int64_t started_at;
};

/* The observation x describes, packed into *buf (caller owns, free()) of
 * *len bytes; root and agreed as for submit() below. */
static void pack_session(const struct session *x, uint8_t root[16], uint8_t agreed[16],
                         uint8_t **buf, size_t *len)
{
    struct testutil_obs o;
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *ap = &act;
    Coachq__V1__FollowUp fu[4];
    Coachq__V1__FollowUp *fp[4];
    uint8_t id[16];
    int64_t at = x->started_at != 0 ? x->started_at : (int64_t)x->day * 86400 + x->hour * 3600;

    assert_true(x->n <= 4);
    testutil_obs_make(&o, coaches[x->pair], reps[x->pair], at);
    act.text = (char *)"practise the discovery opener on two calls";
    act.owner_id = (char *)reps[x->pair];
    if (x->act_id != NULL) {
        memcpy(id, x->act_id, 16);
        act.id.data = id;
        act.id.len = 16;
    }
    o.o.actions = &ap;
    o.o.n_actions = 1;
    for (size_t i = 0; i < x->n; i++) {
        Coachq__V1__FollowUp init = COACHQ__V1__FOLLOW_UP__INIT;

        fu[i] = init;
        fu[i].action_id.data = (uint8_t *)x->fu_ids[i];
        fu[i].action_id.len = 16;
        fu[i].status = x->st[i];
        fu[i].evidence = x->ev != NULL && x->ev[i] != NULL ? (char *)x->ev[i] : (char *)"";
        fp[i] = &fu[i];
    }
    o.o.follow_ups = x->n > 0 ? fp : NULL;
    o.o.n_follow_ups = x->n;
    if (x->amends != NULL) {
        o.o.amends.data = (uint8_t *)x->amends;
        o.o.amends.len = 16;
    }
    if (root != NULL) {
        memcpy(root, x->amends != NULL ? x->amends : o.id, 16);
    }
    if (agreed != NULL) {
        actions_id_of(&act, x->amends != NULL ? x->amends : o.id, 0, agreed);
    }
    *len = coachq__v1__observation__get_packed_size(&o.o);
    *buf = malloc(*len);
    assert_non_null(*buf);
    coachq__v1__observation__pack(&o.o, *buf);
}

static int submit(struct store *s, const struct session *x, uint8_t root[16], uint8_t agreed[16])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;

    pack_session(x, root, agreed, &buf, &len);
    rc = testutil_store_submit_packed(s, buf, len, "obs.1", NOW_S * 1000);
    free(buf);
    return rc;
}

/* What actions_get_txn() reads of one record: its packed bytes. */
struct got {
    const uint8_t *id;
    int rc;
    uint8_t bytes[MAXV];
    size_t len;
    size_t history;
};

static int get_txn(struct store_txn *t, void *arg)
{
    struct got *g = arg;
    Coachq__V1__ActionRecord *r = NULL;

    g->rc = actions_get_txn(t, g->id, &r);
    if (g->rc == 0) {
        g->len = coachq__v1__action_record__get_packed_size(r);
        assert_true(g->len <= MAXV);
        coachq__v1__action_record__pack(r, g->bytes);
        g->history = r->n_history;
        /* No record handed out carries the pad. */
        assert_null(r->base.unknown_fields);
        assert_int_equal(r->base.n_unknown_fields, 0);
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    return 0;
}

static void get(struct store *s, const uint8_t id[16], struct got *g)
{
    memset(g, 0, sizeof(*g));
    g->id = id;
    assert_int_equal(store_view(s, get_txn, g), 0);
}

static size_t stored_len(struct store *s, const uint8_t id[16])
{
    uint8_t buf[MAXV];
    size_t len = 0;

    assert_int_equal(testutil_actions_record_get(s, id, buf, sizeof(buf), &len), 0);
    return len;
}

static void verify_expect(struct store *s, uint64_t differences)
{
    struct actions_verify_result v;

    assert_int_equal(actions_verify(s, 0, &v), 0);
    assert_int_equal(v.differences, differences);
}

/* A record's first follow-up (no evidence) leaves its stored size as it
 * was, so LMDB rewrites it in its place; its second, past the slack, grows
 * it. What is read is the record, never the pad. */
static void test_followup_in_place(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    static const Coachq__V1__ActionStatus partly[1] = {
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE};
    static const Coachq__V1__ActionStatus done[1] = {COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE};
    uint8_t a[1][16], next[16];
    size_t s0, s1, s2;
    struct got g;
    struct session x;

    (void)state;
    memset(&x, 0, sizeof(x));
    x.day = TODAY - 20;
    x.hour = 9;
    assert_int_equal(submit(f->s, &x, NULL, a[0]), 0);
    s0 = stored_len(f->s, a[0]);
    get(f->s, a[0], &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(s0, g.len + SLACK);

    x.day = TODAY - 10;
    x.fu_ids = (const uint8_t(*)[16])a;
    x.st = partly;
    x.n = 1;
    assert_int_equal(submit(f->s, &x, NULL, next), 0);
    s1 = stored_len(f->s, a[0]);
    get(f->s, a[0], &g);
    assert_int_equal(g.history, 1);
    assert_int_equal(s1, s0);
    assert_true(g.len < s1);

    x.day = TODAY - 5;
    x.st = done;
    assert_int_equal(submit(f->s, &x, NULL, next), 0);
    s2 = stored_len(f->s, a[0]);
    get(f->s, a[0], &g);
    assert_int_equal(g.history, 2);
    assert_true(s2 > s1);
    verify_expect(f->s, 0);
    testutil_store_fx_free(f);
}

/* The sessions of one batch, packed (batch_fill() hands them out): up to
 * BATCH_MAX in the random batches, BIG_BATCH in the store that outgrows
 * its map. */
#define BATCH_MAX 8
#define BIG_BATCH 100
struct batch {
    uint8_t *buf[BIG_BATCH];
    size_t len[BIG_BATCH];
};

static void batch_fill(void *arg, struct store_write *w, int i)
{
    const struct batch *b = arg;

    memset(w, 0, sizeof(*w));
    w->obs = b->buf[i];
    w->obs_len = b->len[i];
    w->observer_id = "obs.1";
    w->received_at_ms = NOW_S * 1000;
}

/* Every session of the batch is stored: none is refused or fails. */
static void batch_check(void *arg, const struct store_write *w, int i)
{
    (void)arg;
    if (w->rc != 0 || w->result != STORE_STORED) {
        fail_msg("session %d of the batch: rc %d result %d (%s)", i, w->rc, (int)w->result,
                 w->fault.message);
    }
}

/* What the random batches have made so far: per pair, the actions agreed
 * (in order), the session that agreed each and its start, whether one has
 * been said done (a later follow-up then says done too, as the store asks),
 * and the batch each was agreed in. */
struct made {
    uint8_t ids[2][64][16];
    uint8_t roots[2][64][16];
    int64_t starts[2][64];
    int done[2][64];
    int batch[2][64];
    size_t n[2];
};

/* Random batches (2 to 8 sessions, each batch one write transaction of
 * the writer, testutil_write_one_batch()) of agreements, follow-ups (none
 * to three a session, with and without evidence, of actions agreed in
 * earlier batches and earlier in the same batch, one record followed up
 * by two sessions of one batch) and amendments of a pair's latest session
 * give the records and index a rebuild gives, byte for byte (verify
 * compares the stored bytes). The run must have made each of those cases. */
static void test_random_batches_against_rebuild(void **state)
{
    static const Coachq__V1__ActionStatus sts[4] = {
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED};
    static const char *const evs[4] = {NULL, "ok", "practised it on two calls of five",
                                       "did it once, with the agenda read out first"};
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    struct made *m = calloc(1, sizeof(*m));
    unsigned seed = 6;
    int32_t day = TODAY - 200;
    int same_batch = 0, twice = 0, earlier = 0, amended = 0, evidence = 0, bare = 0;

    (void)state;
    assert_non_null(m);
    for (int bi = 0; bi < 24; bi++) {
        struct batch b;
        int nb = 2 + rand_r(&seed) % (BATCH_MAX - 1);
        /* Follow-ups made in this batch, to see one record followed up
         * twice in it. */
        uint8_t fu_seen[3 * BATCH_MAX][16];
        size_t n_seen = 0;

        for (int j = 0; j < nb; j++) {
            int p = rand_r(&seed) % 2;
            size_t np = m->n[p];
            int amend = np > 1 && rand_r(&seed) % 6 == 0;
            size_t of = amend ? np - 1 : np; /* actions agreed before it */
            size_t k = of > 0 ? (size_t)(rand_r(&seed) % 4) : 0;
            uint8_t fu[3][16];
            Coachq__V1__ActionStatus st[3];
            const char *ev[3];
            size_t nf = 0;
            struct session x;

            memset(&x, 0, sizeof(x));
            x.pair = p;
            x.day = day++;
            x.hour = 9;
            for (size_t t = 0; t < k; t++) {
                size_t a = (size_t)rand_r(&seed) % of;
                int dup = 0;

                for (size_t u = 0; u < nf; u++) {
                    dup |= memcmp(fu[u], m->ids[p][a], 16) == 0;
                }
                if (dup) {
                    continue;
                }
                memcpy(fu[nf], m->ids[p][a], 16);
                st[nf] = m->done[p][a] ? sts[0] : sts[rand_r(&seed) % 4];
                m->done[p][a] |= st[nf] == sts[0];
                ev[nf] = evs[rand_r(&seed) % 4];
                if (ev[nf] != NULL) {
                    evidence++;
                } else {
                    bare++;
                }
                if (m->batch[p][a] == bi) {
                    same_batch++;
                } else {
                    earlier++;
                }
                for (size_t u = 0; u < n_seen; u++) {
                    twice += memcmp(fu_seen[u], fu[nf], 16) == 0;
                }
                memcpy(fu_seen[n_seen++], fu[nf], 16);
                nf++;
            }
            x.fu_ids = (const uint8_t(*)[16])fu;
            x.st = st;
            x.ev = ev;
            x.n = nf;
            if (amend) {
                /* The pair's latest session, said again differently: its
                 * start and its action kept. */
                x.amends = m->roots[p][np - 1];
                x.act_id = m->ids[p][np - 1];
                x.started_at = m->starts[p][np - 1];
                pack_session(&x, NULL, NULL, &b.buf[j], &b.len[j]);
                amended++;
                continue;
            }
            assert_true(np < 64);
            m->starts[p][np] = (int64_t)x.day * 86400 + 9 * 3600;
            m->batch[p][np] = bi;
            pack_session(&x, m->roots[p][np], m->ids[p][np], &b.buf[j], &b.len[j]);
            m->n[p]++;
        }
        testutil_write_one_batch(f->s, nb, batch_fill, batch_check, &b, NULL, 0);
        for (int j = 0; j < nb; j++) {
            free(b.buf[j]);
        }
    }
    assert_true(same_batch > 0);
    assert_true(earlier > 0);
    assert_true(twice > 0);
    assert_true(amended > 0);
    assert_true(evidence > 0);
    assert_true(bare > 0);
    verify_expect(f->s, 0);
    free(m);
    testutil_store_fx_free(f);
}

/* Opens f's store with a map of map_size bytes (0: the default), what it
 * logs while opening into log (len bytes, NUL-ended). */
static void open_logged_map(struct testutil_store_fx *f, size_t map_size, char *log, size_t len)
{
    f->s = testutil_store_open_logged(f->dir, map_size, log, len);
}

static void open_logged(struct testutil_store_fx *f, char *log, size_t len)
{
    open_logged_map(f, 0, log, len);
}

/* Times needle occurs in hay. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Sessions of both pairs, each following up the pair's action before:
 * ids gets the actions agreed (n). */
static void load(struct testutil_store_fx *f, uint8_t (*ids)[16], size_t n)
{
    static const Coachq__V1__ActionStatus st[1] = {
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE};

    for (size_t i = 0; i < n; i++) {
        struct session x;

        memset(&x, 0, sizeof(x));
        x.pair = (int)(i % 2);
        x.day = TODAY - 100 + (int32_t)i;
        x.hour = 10;
        if (i >= 2) {
            x.fu_ids = (const uint8_t(*)[16])ids[i - 2];
            x.st = st;
            x.n = 1;
        }
        assert_int_equal(submit(f->s, &x, NULL, ids[i]), 0);
    }
}

/* A store of actions format 5 (its records without pads, its format set
 * back) gets them padded on open by format 6's own step, not a rebuild
 * (its log line counts records, no rebuild's "actions="): verify finds
 * every record different before and nothing after, and every record reads
 * as it did. */
static void test_migration_from_5(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    uint8_t ids[30][16];
    struct got *before = calloc(30, sizeof(*before));
    struct got g;
    size_t n = 0;
    char log[8192], want[96];

    (void)state;
    assert_non_null(before);
    load(f, ids, 30);
    for (size_t i = 0; i < 30; i++) {
        get(f->s, ids[i], &before[i]);
        assert_int_equal(before[i].rc, 0);
    }
    assert_int_equal(testutil_actions_unpad(f->s, &n), 0);
    assert_int_equal(n, 30);
    assert_int_equal(testutil_meta_put_be32(f->s, "actions_format", 5), 0);
    /* Format 5's bytes: the record alone. */
    assert_int_equal(stored_len(f->s, ids[0]), before[0].len);
    verify_expect(f->s, 30);
    store_close(f->s);
    open_logged(f, log, sizeof(log));
    snprintf(want, sizeof(want), "event=actions_format_upgraded from=5 to=6 records=30\n");
    assert_non_null(strstr(log, want));
    assert_null(strstr(log, "actions="));
    verify_expect(f->s, 0);
    for (size_t i = 0; i < 30; i++) {
        get(f->s, ids[i], &g);
        assert_int_equal(g.rc, 0);
        assert_int_equal(g.len, before[i].len);
        assert_memory_equal(g.bytes, before[i].bytes, g.len);
    }
    /* Opened again, the store is at format 6 and stays as it is. */
    store_close(f->s);
    open_logged(f, log, sizeof(log));
    assert_null(strstr(log, "actions_format_upgraded"));
    verify_expect(f->s, 0);
    free(before);
    testutil_store_fx_free(f);
}

/* Actions a store of format 5 holds for the step that outgrows its map. */
#define BIG 3000

/* The 5 -> 6 step on a store whose map fills in the middle of it: BIG
 * unpadded records, compacted, opened with a 16 KiB map, so the step
 * (records padded and appended to the emptied tree) runs out of room, the
 * opening transaction is abandoned and run again in a bigger map until it
 * fits. What it leaves is one upgrade's: one log line, no tree of the
 * step's own (actions_format6) in the file, verify finds nothing, and
 * every record reads as it did, byte for byte. */
static void test_migration_from_5_map_full(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    static const Coachq__V1__ActionStatus st[1] = {
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE};
    uint8_t(*ids)[16] = calloc(BIG, 16);
    struct got *g = calloc(1, sizeof(*g));
    uint8_t **before = calloc(BIG, sizeof(*before));
    size_t *blen = calloc(BIG, sizeof(*blen));
    static char log[65536];
    char want[96], copy[sizeof(f->dir)];
    struct store_copy_info ci;
    size_t n = 0;
    int exists = 1;

    (void)state;
    assert_non_null(ids);
    assert_non_null(g);
    assert_non_null(before);
    assert_non_null(blen);
    for (size_t b0 = 0; b0 < BIG; b0 += BIG_BATCH) {
        struct batch bb;

        for (size_t i = b0; i < b0 + BIG_BATCH; i++) {
            struct session x;

            memset(&x, 0, sizeof(x));
            x.pair = (int)(i % 2);
            x.day = TODAY - 4000 + (int32_t)i;
            x.hour = 10;
            if (i % 3 == 2) {
                /* Some records with an event, as a store has. */
                x.fu_ids = (const uint8_t(*)[16])ids[i - 2];
                x.st = st;
                x.n = 1;
            }
            pack_session(&x, NULL, ids[i], &bb.buf[i - b0], &bb.len[i - b0]);
        }
        testutil_write_one_batch(f->s, BIG_BATCH, batch_fill, batch_check, &bb, NULL, 0);
        for (size_t i = 0; i < BIG_BATCH; i++) {
            free(bb.buf[i]);
        }
    }
    for (size_t i = 0; i < BIG; i++) {
        get(f->s, ids[i], g);
        assert_int_equal(g->rc, 0);
        before[i] = malloc(g->len);
        assert_non_null(before[i]);
        memcpy(before[i], g->bytes, g->len);
        blen[i] = g->len;
    }
    assert_int_equal(testutil_actions_unpad(f->s, &n), 0);
    assert_int_equal(n, BIG);
    assert_int_equal(testutil_meta_put_be32(f->s, "actions_format", 5), 0);
    store_close(f->s);
    /* A compacted copy (as `coachqd backup` makes) has no free pages, so
     * a map of 16 KiB is only its pages in use (LMDB raises a map to them)
     * and the step's first new page fills it. */
    testutil_tmpdir(copy, sizeof(copy));
    assert_int_equal(store_copy(f->dir, copy, &ci), 0);
    testutil_rmrf(f->dir);
    memcpy(f->dir, copy, sizeof(f->dir));
    open_logged_map(f, 16384, log, sizeof(log));
    /* The map did fill: the open grew it. */
    assert_non_null(strstr(log, "store_map_grown"));
    snprintf(want, sizeof(want), "event=actions_format_upgraded from=5 to=6 records=%d\n", BIG);
    assert_int_equal(count_of(log, "actions_format_upgraded"), 1);
    assert_non_null(strstr(log, want));
    assert_int_equal(testutil_tree_exists(f->s, "actions_format6", &exists), 0);
    assert_false(exists);
    verify_expect(f->s, 0);
    for (size_t i = 0; i < BIG; i++) {
        get(f->s, ids[i], g);
        assert_int_equal(g->rc, 0);
        assert_int_equal(g->len, blen[i]);
        assert_memory_equal(g->bytes, before[i], g->len);
        assert_int_equal(stored_len(f->s, ids[i]) > g->len, 1);
        free(before[i]);
    }
    free(before);
    free(blen);
    free(g);
    free(ids);
    testutil_store_fx_free(f);
}

/* verify finds a record stored without its pad (wrong bytes, the same
 * record), a missing record, and one no observation gives (an orphan);
 * --repair mends each, to the bytes the writer stored. */
static void test_verify_wrong_missing_orphan(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    uint8_t ids[6][16], orig[MAXV], orphan[16];
    struct actions_verify_result v;
    struct got g;
    size_t olen = 0;

    (void)state;
    load(f, ids, 6);
    assert_int_equal(testutil_actions_record_get(f->s, ids[3], orig, sizeof(orig), &olen), 0);
    get(f->s, ids[3], &g);
    assert_true(g.len < olen);

    /* Wrong: the record's own bytes, without the pad. */
    assert_int_equal(testutil_actions_record_set(f->s, ids[3], g.bytes, g.len), 0);
    verify_expect(f->s, 1);
    assert_int_equal(actions_verify(f->s, 1, &v), 0);
    verify_expect(f->s, 0);
    assert_int_equal(stored_len(f->s, ids[3]), olen);

    /* Missing. */
    assert_int_equal(testutil_actions_record_set(f->s, ids[3], NULL, 0), 0);
    assert_int_equal(actions_verify(f->s, 0, &v), 0);
    assert_true(v.differences >= 1);
    assert_int_equal(v.records + 1, v.expected);
    assert_int_equal(actions_verify(f->s, 1, &v), 0);
    verify_expect(f->s, 0);
    assert_int_equal(stored_len(f->s, ids[3]), olen);

    /* An orphan: a well-formed padded record under an id no observation
     * agreed. */
    memcpy(orphan, ids[5], 16);
    orphan[15] ^= 0x5a;
    assert_int_equal(testutil_actions_record_set(f->s, orphan, orig, olen), 0);
    assert_int_equal(actions_verify(f->s, 0, &v), 0);
    assert_true(v.differences >= 1);
    assert_int_equal(v.records, v.expected + 1);
    assert_int_equal(actions_verify(f->s, 1, &v), 0);
    verify_expect(f->s, 0);
    get(f->s, orphan, &g);
    assert_int_equal(g.rc, -ENOENT);
    testutil_store_fx_free(f);
}

/* A pad whose length runs past the value, or a pad followed by bytes that
 * are no record, reads as a damaged record (-EIO) for that record alone:
 * the others read, the writer takes the next session, verify finds it
 * and --repair mends it. */
static void test_damaged_pad(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    uint8_t ids[5][16], orig[MAXV], bad[MAXV];
    static const uint8_t short_pad[4] = {0xFA, 0x7F, 0x7E, 0};
    struct actions_verify_result v;
    struct got g;
    size_t olen = 0;

    (void)state;
    load(f, ids, 4);
    assert_int_equal(testutil_actions_record_get(f->s, ids[1], orig, sizeof(orig), &olen), 0);

    assert_int_equal(testutil_actions_record_set(f->s, ids[1], short_pad, sizeof(short_pad)), 0);
    get(f->s, ids[1], &g);
    assert_int_equal(g.rc, -EIO);
    get(f->s, ids[2], &g);
    assert_int_equal(g.rc, 0);

    /* A whole pad, then junk where the record goes. */
    memcpy(bad, orig, olen);
    memset(bad + 3 + orig[2], 0xff, olen - 3 - orig[2]);
    assert_int_equal(testutil_actions_record_set(f->s, ids[1], bad, olen), 0);
    get(f->s, ids[1], &g);
    assert_int_equal(g.rc, -EIO);

    load(f, ids + 4, 1);
    get(f->s, ids[4], &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(actions_verify(f->s, 0, &v), 0);
    assert_true(v.differences >= 1);
    assert_int_equal(actions_verify(f->s, 1, &v), 0);
    verify_expect(f->s, 0);
    get(f->s, ids[1], &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(stored_len(f->s, ids[1]), olen);
    testutil_store_fx_free(f);
}

/* actions_record_unpack() on a value of exactly its bytes (on the heap,
 * where a read past its end is seen by the sanitizers): a pad whose length
 * runs past the value, a value cut inside the pad's head, or a value that
 * is only a pad, is -EIO; a pad of the largest length before a record
 * reads the record. */
static void test_unpack_bounds(void **state)
{
    static const uint8_t past[4] = {0xFA, 0x7F, 0x7E, 0};
    static const uint8_t cut[2] = {0xFA, 0x7F};
    static const uint8_t only_pad[3] = {0xFA, 0x7F, 0x00};
    static const uint8_t only_pad4[7] = {0xFA, 0x7F, 0x04, 0, 0, 0, 0};
    Coachq__V1__ActionRecord rec = COACHQ__V1__ACTION_RECORD__INIT;
    Coachq__V1__ActionRecord *r = NULL;
    uint8_t *v;
    size_t packed;

    (void)state;
    v = malloc(sizeof(past));
    assert_non_null(v);
    memcpy(v, past, sizeof(past));
    assert_int_equal(actions_record_unpack(v, sizeof(past), &r), -EIO);
    assert_null(r);
    free(v);
    v = malloc(sizeof(cut));
    assert_non_null(v);
    memcpy(v, cut, sizeof(cut));
    assert_int_equal(actions_record_unpack(v, sizeof(cut), &r), -EIO);
    free(v);
    /* A value that is only a pad holds no record, not an empty one. */
    v = malloc(sizeof(only_pad));
    assert_non_null(v);
    memcpy(v, only_pad, sizeof(only_pad));
    assert_int_equal(actions_record_unpack(v, sizeof(only_pad), &r), -EIO);
    assert_null(r);
    free(v);
    v = malloc(sizeof(only_pad4));
    assert_non_null(v);
    memcpy(v, only_pad4, sizeof(only_pad4));
    assert_int_equal(actions_record_unpack(v, sizeof(only_pad4), &r), -EIO);
    assert_null(r);
    free(v);

    rec.text = (char *)"open every call with the agenda";
    packed = coachq__v1__action_record__get_packed_size(&rec);
    v = calloc(1, 3 + 127 + packed);
    assert_non_null(v);
    v[0] = 0xFA;
    v[1] = 0x7F;
    v[2] = 127;
    coachq__v1__action_record__pack(&rec, v + 3 + 127);
    assert_int_equal(actions_record_unpack(v, 3 + 127 + packed, &r), 0);
    assert_string_equal(r->text, rec.text);
    coachq__v1__action_record__free_unpacked(r, NULL);
    v[2] = 128; /* no one-byte length */
    assert_int_equal(actions_record_unpack(v, 3 + 127 + packed, &r), -EIO);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_followup_in_place),
        cmocka_unit_test(test_random_batches_against_rebuild),
        cmocka_unit_test(test_migration_from_5),
        cmocka_unit_test(test_migration_from_5_map_full),
        cmocka_unit_test(test_verify_wrong_missing_orphan),
        cmocka_unit_test(test_damaged_pad),
        cmocka_unit_test(test_unpack_bounds),
    };

    testutil_watchdog(300);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
