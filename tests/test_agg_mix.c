/* Tests of store/agg.c: the coaching mix (sessions by focus and type, the
 * quality index by focus) and the Observer reliability dashboard's values
 * (AGG_OBSERVER_COACH), with the aggregate format steps that brought them
 * and what `coachqd verify` finds wrong in them. The other values are
 * test_agg.c; what the suites share is testutil_agg.c. The organisation
 * is the shared fixture (testutil_seed_org(): fixtures/org.csv and
 * certified observers alice, bob, carol, dave, obs.ann; obs.ben is not
 * certified). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agg.h"
#include "agg_int.h"
#include "audit.h"
#include "certs.h"
#include "keys.h"
#include "obs.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "testutil_agg.h"
#include "uuid.h"

/* ---- The coaching mix (agg.h, AGG_MIX_*) -------------------------------- */

/* A value with the mix stores it after the pairs, behind flag bit 1, and
 * reads it back; one without stores nothing of it. */
static void test_value_mix(void **state)
{
    struct agg_val v, d;
    uint8_t buf[1024], bad[1024];
    size_t n;

    (void)state;
    memset(&v, 0, sizeof(v));
    memset(&d, 0, sizeof(d));
    v.observations = 3;
    v.pairs[0] = 1;
    v.mix[AGG_MIX_FOCUS + 2] = 3;
    v.mix[AGG_MIX_FOCUS_QN + 2] = 2;
    v.mix[AGG_MIX_TYPE + 5] = 3;
    v.mix_q[AGG_MIXQ_SUM + 2] = 5.5;
    v.mix_q[AGG_MIXQ_SUMSQ + 2] = 15.25;
    n = agg_val_size(&v);
    assert_int_equal(n, 88 + 64 + 124);
    assert_int_equal(agg_val_encode(&v, buf, n), 0);
    assert_int_equal(buf[1], 3);
    assert_int_equal(agg_val_decode(&d, buf, n), 0);
    assert_int_equal(d.pairs[0], 1);
    assert_int_equal(d.mix[AGG_MIX_FOCUS + 2], 3);
    assert_int_equal(d.mix[AGG_MIX_FOCUS_QN + 2], 2);
    assert_int_equal(d.mix[AGG_MIX_TYPE + 5], 3);
    assert_int_equal(d.mix[AGG_MIX_FOCUS + 1], 0);
    assert_true(d.mix_q[AGG_MIXQ_SUM + 2] == 5.5 && d.mix_q[AGG_MIXQ_SUMSQ + 2] == 15.25);
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(agg_val_decode(&d, buf, cut), -EIO);
    }
    memcpy(bad, buf, n);
    bad[1] = 7; /* an unknown flag */
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    /* The stored form of a value written before the mix (no flag) still
     * reads, with no mix. */
    memset(v.mix, 0, sizeof(v.mix));
    memset(v.mix_q, 0, sizeof(v.mix_q));
    n = agg_val_size(&v);
    assert_int_equal(n, 88 + 64);
    assert_int_equal(agg_val_encode(&v, buf, n), 0);
    assert_int_equal(buf[1], 1);
    d.mix[0] = 9;
    assert_int_equal(agg_val_decode(&d, buf, n), 0);
    assert_int_equal(d.mix[0], 0);
    v.mix[AGG_MIX_TYPE] = -1;
    assert_int_equal(agg_val_encode(&v, buf, agg_val_size(&v)), -ERANGE);
    agg_val_free(&v);
    agg_val_free(&d);
}

/* Turns the closed store in dir into one written before the mix: every
 * value loses its mix and the format key goes. */
static void strip_mix(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, agg;
    MDB_cursor *cur;
    MDB_val k, v;
    struct agg_val a;
    uint8_t buf[4096];
    int rc;

    memset(&a, 0, sizeof(a));
    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    k.mv_data = (void *)"agg_format";
    k.mv_size = strlen("agg_format");
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(keys_get_be32(v.mv_data), AGG_FORMAT);
    assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t n;

        /* Lists hold no mix (the rebuild makes them again). */
        if (AGG_KIND_SEEN(((const uint8_t *)k.mv_data)[0]) ||
            AGG_KIND_CUM(((const uint8_t *)k.mv_data)[0]) ||
            AGG_KIND_COACHES(((const uint8_t *)k.mv_data)[0]) ||
            AGG_KIND_IMPACT(((const uint8_t *)k.mv_data)[0])) {
            continue;
        }
        assert_int_equal(agg_val_decode(&a, v.mv_data, v.mv_size), 0);
        memset(a.mix, 0, sizeof(a.mix));
        memset(a.mix_q, 0, sizeof(a.mix_q));
        n = agg_val_size(&a);
        assert_true(n <= sizeof(buf));
        assert_int_equal(agg_val_encode(&a, buf, n), 0);
        v.mv_data = buf;
        v.mv_size = n;
        assert_int_equal(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    agg_val_free(&a);
}

/* Sessions by focus and type, and the quality index by focus, in every
 * scope of the session; an amendment moves its session to its new focus;
 * a store written before the mix gets it when opened, and verify agrees. */
static void test_mix(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct weeks ws;
    struct tobs a, b, c;
    const Coachq__V1__AggWeek *w;
    const int sk = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    const int pr = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS;
    const int cr = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW;
    const int dr = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;

    /* a: process, deal review (testutil's); b: skill, call review. Both
     * score 2 and 3 alternately with one behaviour not applicable. */
    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.cara", "rep.ida", T0 + 3600);
    b.t.o.focus = sk;
    b.t.o.session_type = cr;
    assert_int_equal(submit(f->s, "alice", &b.t.o), 0);
    w = one_week(f->s, AGG_COACH, "flm.cara", 0, &ws);
    assert_int_equal(w->n_mix, AGG_NMIX);
    assert_int_equal(w->n_mix_q, AGG_NMIXQ);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + pr], 1);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + sk], 1);
    assert_int_equal(w->mix[AGG_MIX_FOCUS_QN + sk], 1);
    assert_int_equal(w->mix[AGG_MIX_TYPE + dr], 1);
    assert_int_equal(w->mix[AGG_MIX_TYPE + cr], 1);
    assert_true(w->mix_q[AGG_MIXQ_SUM + sk] > 1 && w->mix_q[AGG_MIXQ_SUM + sk] < 4);
    assert_true(fabs(w->mix_q[AGG_MIXQ_SUM + sk] + w->mix_q[AGG_MIXQ_SUM + pr] - w->index_sum) <
                1e-9);
    weeks_free(&ws);
    w = one_week(f->s, AGG_LINE_COACH, "slm.eve/flm.cara", 0, &ws);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + sk], 1);
    weeks_free(&ws);
    /* b amended to human coaching: skill empties, human has it. */
    tobs_make(&c, "flm.cara", "rep.ida", T0 + 3600);
    c.t.o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN;
    c.t.o.session_type = cr;
    c.t.o.amends.data = b.t.id;
    c.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &c.t.o), 0);
    w = one_week(f->s, AGG_COACH, "flm.cara", 0, &ws);
    assert_int_equal(w->observations, 2);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + sk], 0);
    assert_int_equal(w->mix[AGG_MIX_FOCUS_QN + sk], 0);
    assert_true(w->mix_q[AGG_MIXQ_SUM + sk] == 0);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN], 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A store from before the mix: verify sees what is missing, and the
     * next open rebuilds it. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    strip_mix(f->dir);
    f->s = testutil_store_open_enforced(f->dir);
    w = one_week(f->s, AGG_COACH, "flm.cara", 0, &ws);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + pr], 1);
    assert_int_equal(w->mix[AGG_MIX_TYPE + cr], 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* Turns the closed store in dir into one of aggregate format 2: every
 * manager of an observer-week list goes back to the AGG_PAIR key
 * "<observer>/<coach>" it had then. */
static void back_to_pairs(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi agg;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t keys[8][256], vals[8][1024];
    size_t klen[8], vlen[8], n = 0;
    struct agg_seen l;
    struct agg_val a;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    testutil_lmdb_put_agg_format(txn, 2);
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    memset(&l, 0, sizeof(l));
    memset(&a, 0, sizeof(a));
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;
        size_t olen, rlen;

        if (p[0] != AGG_OBSERVER_WEEK) {
            continue;
        }
        olen = p[1];
        rlen = p[2 + olen];
        assert_int_equal(agg_seen_decode(&l, v.mv_data, v.mv_size), 0);
        for (size_t i = 0; i < l.n; i++) {
            size_t at = 0;

            assert_true(n < 8);
            /* 6, len, "<observer>/<coach>", rubric, week. */
            keys[n][at++] = AGG_PAIR;
            keys[n][at++] = (uint8_t)(olen + 1 + l.e[i].clen);
            memcpy(keys[n] + at, p + 2, olen);
            at += olen;
            keys[n][at++] = '/';
            memcpy(keys[n] + at, l.e[i].coach, l.e[i].clen);
            at += l.e[i].clen;
            memcpy(keys[n] + at, p + 2 + olen, 1 + rlen + 4);
            at += 1 + rlen + 4;
            klen[n] = at;
            agg_val_clear(&a);
            a.observations = l.e[i].observations;
            vlen[n] = agg_val_size(&a);
            assert_int_equal(agg_val_encode(&a, vals[n], vlen[n]), 0);
            n++;
        }
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
    }
    agg_seen_free(&l);
    agg_val_free(&a);
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        k.mv_data = keys[i];
        k.mv_size = klen[i];
        v.mv_data = vals[i];
        v.mv_size = vlen[i];
        assert_int_equal(mdb_put(txn, agg, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static int tamper_coached_fn(struct store_txn *t, void *arg)
{
    struct keys_buf k;

    (void)arg;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0), 0);
    return store_txn_del(t, t->s->dbi_agg, k.b, k.len);
}

/* A list of one manager, flm.cara with 3 observations, under key. */
static int put_one_list(struct store_txn *t, const uint8_t *key, size_t klen)
{
    struct agg_seen_ent e;
    struct agg_seen l = {&e, 1, 1};

    memset(&e, 0, sizeof(e));
    memcpy(e.coach, "flm.cara", sizeof("flm.cara"));
    e.clen = strlen("flm.cara");
    e.observations = 3;
    return agg_seen_put(t, key, klen, &l);
}

/* Puts an observer-week key of alice's cut inside its week (no writer
 * makes one), and a list of an observer "alic", whose id is a prefix of
 * hers and who scored nothing. */
static int damage_coached_fn(struct store_txn *t, void *arg)
{
    struct keys_buf k;
    int rc;

    (void)arg;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0), 0);
    rc = put_one_list(t, k.b, k.len - 2);
    if (rc == 0) {
        assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alic", RUBRIC, 1, MON0), 0);
        rc = put_one_list(t, k.b, k.len);
    }
    return rc;
}

/* Puts, inside alice's range (a week she scored nothing in), a list whose
 * manager's id holds a NUL ("flm\0cara", *arg 0) or is 65 bytes long, one
 * more than an id may be (*arg 1): neither is a coach id, and no writer
 * makes either. */
static int damage_coach_id_fn(struct store_txn *t, void *arg)
{
    const int *which = arg;
    struct keys_buf k;
    uint8_t v[4 + 1 + 65 + 20];
    size_t n = 0;

    memset(v, 0, sizeof(v));
    v[n++] = AGG_SEEN_VERSION;
    v[n++] = 0;
    v[n++] = 1;
    v[n++] = 0;
    if (*which == 0) {
        v[n++] = 8;
        memcpy(v + n, "flm\0cara", 8);
        n += 8;
    } else {
        v[n++] = 65;
        memset(v + n, 'x', 65);
        n += 65;
    }
    v[n] = 3; /* observations */
    n += 20;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0 + 14), 0);
    return store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, v, n, NULL);
}

static int read_coached_rc_txn(struct store_txn *t, void *arg)
{
    struct coached *c = arg;

    return agg_read_coached(t, "alice", RUBRIC, 0, MON0 + 700, coached_cb, c);
}

/* The Observer reliability dashboard's values (AGG_OBSERVER_COACH): one
 * per observer, week and coach, kept through amendments that move a
 * session to another coach; verify finds one missing and repairs it; a
 * store of aggregate format 2 (AGG_PAIR) gets them when opened. */
static void test_observer_coach(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs a, b, c;
    struct coached cw;
    struct weeks ws;
    struct diffs d;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.dan", "rep.jon", T0 + 3600);
    assert_int_equal(submit(f->s, "alice", &b.t.o), 0);
    tobs_make(&c, "flm.cara", "rep.ida", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "alice", &c.t.o), 0);
    /* Week by week, and within a week by coach. */
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 3);
    assert_string_equal(cw.coach[0], "flm.cara");
    assert_string_equal(cw.coach[1], "flm.dan");
    assert_string_equal(cw.coach[2], "flm.cara");
    assert_int_equal(cw.ws.monday[0], MON0);
    assert_int_equal(cw.ws.monday[1], MON0);
    assert_int_equal(cw.ws.monday[2], MON0 + 7);
    weeks_free(&cw.ws);
    /* The window bounds the weeks; another observer sees none of them. */
    read_coached(f->s, "alice", MON0 + 7, MON0 + 7, &cw);
    assert_int_equal(cw.ws.n, 1);
    weeks_free(&cw.ws);
    read_coached(f->s, "bob", 0, MON0 + 700, &cw);
    assert_int_equal(cw.ws.n, 0);
    /* b amended onto flm.cara: flm.dan's value goes. */
    tobs_make(&c, "flm.cara", "rep.ida", T0 + 3600);
    c.t.o.amends.data = b.t.id;
    c.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &c.t.o), 0);
    read_coached(f->s, "alice", MON0, MON0 + 6, &cw);
    assert_int_equal(cw.ws.n, 1);
    assert_string_equal(cw.coach[0], "flm.cara");
    assert_int_equal(cw.ws.w[0].observations, 2);
    weeks_free(&cw.ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A value gone: verify names it, repair puts it back. */
    assert_int_equal(store_exec(f->s, tamper_coached_fn, NULL), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_non_null(
        strstr(d.first, "observer-coach/alice/coaching-conversation/2025-W10/flm.cara: "));
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A damaged key inside alice's range fails her read rather than being
     * skipped; another observer's value never shows in hers; verify finds
     * both and repair removes them. */
    assert_int_equal(store_exec(f->s, damage_coached_fn, NULL), 0);
    memset(&cw, 0, sizeof(cw));
    assert_int_equal(store_view(f->s, read_coached_rc_txn, &cw), -EIO);
    weeks_free(&cw.ws);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 2);
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 2);
    weeks_free(&cw.ws);
    read_coached(f->s, "alic", 0, MON0 + 700, &cw);
    assert_int_equal(cw.ws.n, 0);
    /* A coach id with a NUL inside, or one byte too long, fails the read
     * too (rather than reaching the callback cut short, or overrunning
     * the reader's copy); verify finds each and repair removes it. */
    for (int which = 0; which < 2; which++) {
        assert_int_equal(store_exec(f->s, damage_coach_id_fn, &which), 0);
        memset(&cw, 0, sizeof(cw));
        assert_int_equal(store_view(f->s, read_coached_rc_txn, &cw), -EIO);
        weeks_free(&cw.ws);
        assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
        assert_int_equal(r.differences, 1);
        read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
        assert_int_equal(cw.ws.n, 2);
        weeks_free(&cw.ws);
    }
    /* A store of format 2: its pair values become observer-coach ones. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_pairs(f->dir);
    f->s = testutil_store_open_enforced(f->dir);
    read_weeks(f->s, AGG_PAIR, "alice/flm.cara", 0, MON0 + 700, &ws);
    assert_int_equal(ws.n, 0);
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 2);
    assert_int_equal(cw.ws.w[0].observations, 2);
    assert_int_equal(cw.ws.w[1].observations, 1);
    weeks_free(&cw.ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_mix),
        cmocka_unit_test_setup_teardown(test_mix, testutil_seeded_setup, testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_observer_coach, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
