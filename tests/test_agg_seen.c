/*
 * test_agg_seen: the observer-week lists of aggregate format 5
 * (AGG_OBSERVER_WEEK, agg.h): one stored value per observer, rubric and
 * week listing the managers scored, kept through amendments and erasure,
 * checked by verify, and made from a format-4 store's observer-coach
 * values when it is opened.
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
#define MAX_LISTS 16

/* Every stored observer-week list and twin (key and decoded managers) and
 * every coach-week value and twin (key, coach and figures), in key order. */
struct lists {
    size_t n;
    struct keys_buf key[MAX_LISTS];
    struct agg_seen l[MAX_LISTS];
    size_t coached; /* AGG_OBSERVER_COACH values (and twins) stored */
    size_t ncw;
    struct keys_buf cw_key[MAX_LISTS];
    struct agg_seen_ent cw[MAX_LISTS];
};

static void lists_free(struct lists *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        agg_seen_free(&ls->l[i]);
    }
    memset(ls, 0, sizeof(*ls));
}

static int lists_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct lists *ls = arg;

    if (AGG_KIND_COACHED(key[0])) {
        ls->coached++;
    }
    if (AGG_KIND_COACHES(key[0])) {
        uint8_t share[AGG_KEY_MAX];
        size_t slen;

        assert_true(ls->ncw < MAX_LISTS);
        keys_buf_reset(&ls->cw_key[ls->ncw]);
        keys_buf_raw(&ls->cw_key[ls->ncw], key, klen);
        assert_int_equal(agg_coach_week_share(key, klen, val, vlen, share, &slen, &ls->cw[ls->ncw]),
                         0);
        ls->ncw++;
        return 0;
    }
    if (!AGG_KIND_SEEN(key[0])) {
        return 0;
    }
    assert_true(ls->n < MAX_LISTS);
    keys_buf_reset(&ls->key[ls->n]);
    keys_buf_raw(&ls->key[ls->n], key, klen);
    assert_int_equal(agg_seen_decode(&ls->l[ls->n], val, vlen), 0);
    ls->n++;
    return 0;
}

static int lists_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, lists_cb, arg);
}

static void read_lists(struct store *s, struct lists *ls)
{
    memset(ls, 0, sizeof(*ls));
    assert_int_equal(store_view(s, lists_txn, ls), 0);
}

/* The list (kind AGG_OBSERVER_WEEK or its twin) of observer's week
 * starting monday, or NULL. */
static const struct agg_seen *list_of_kind(const struct lists *ls, unsigned kind,
                                           const char *observer, int32_t monday)
{
    struct keys_buf k;

    assert_int_equal(agg_key(&k, kind, observer, RUBRIC, 1, monday), 0);
    for (size_t i = 0; i < ls->n; i++) {
        if (keys_compare(k.b, k.len, ls->key[i].b, ls->key[i].len) == 0) {
            return &ls->l[i];
        }
    }
    return NULL;
}

static const struct agg_seen *list_of(const struct lists *ls, const char *observer, int32_t monday)
{
    return list_of_kind(ls, AGG_OBSERVER_WEEK, observer, monday);
}

/* Asserts that entry i of l is coach with that many observations. */
static void assert_entry(const struct agg_seen *l, size_t i, const char *coach,
                         int64_t observations)
{
    assert_true(i < l->n);
    assert_string_equal(l->e[i].coach, coach);
    assert_int_equal(l->e[i].observations, observations);
}

/* The coach-week value (kind AGG_COACH_WEEK or its twin) of coach in the
 * week starting monday, or NULL. */
static const struct agg_seen_ent *coach_week_of(const struct lists *ls, unsigned kind,
                                                const char *coach, int32_t monday)
{
    struct keys_buf k;

    assert_int_equal(agg_key(&k, kind, AGG_ORG_ALL, RUBRIC, 1, monday), 0);
    keys_buf_raw(&k, coach, strlen(coach));
    for (size_t i = 0; i < ls->ncw; i++) {
        if (keys_compare(k.b, k.len, ls->cw_key[i].b, ls->cw_key[i].len) == 0) {
            assert_string_equal(ls->cw[i].coach, coach);
            return &ls->cw[i];
        }
    }
    return NULL;
}

/* An observer's figures of one week over every behaviour (AGG_OBSERVER,
 * read rated), what the managers of their list add up to. */
struct rated {
    const char *observer; /* the scope */
    int32_t monday;
    enum agg_scope kind; /* AGG_OBSERVER when 0 */
    uint64_t observations, count, proficient;
    double sum, sumsq;
};

static int rated_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct rated *r = arg;

    (void)monday;
    r->observations += w->observations;
    for (size_t i = 0; i < w->n_behaviours; i++) {
        r->count += w->behaviours[i]->count;
        r->sum += w->behaviours[i]->sum;
        r->sumsq += w->behaviours[i]->sumsq;
        r->proficient += w->behaviours[i]->proficient;
    }
    return 0;
}

static int rated_txn(struct store_txn *t, void *arg)
{
    struct rated *r = arg;

    return agg_read_rated(t, r->kind != 0 ? r->kind : AGG_OBSERVER, r->observer, RUBRIC, r->monday,
                          r->monday, rated_cb, r);
}

static void assert_adds_up(struct store *s, const struct agg_seen *l, const char *observer,
                           int32_t monday)
{
    struct rated r;
    int64_t obs = 0, count = 0, sum = 0, sumsq = 0, prof = 0;

    memset(&r, 0, sizeof(r));
    r.observer = observer;
    r.monday = monday;
    assert_int_equal(store_view(s, rated_txn, &r), 0);
    for (size_t i = 0; i < l->n; i++) {
        obs += l->e[i].observations;
        count += l->e[i].count;
        sum += l->e[i].sum;
        sumsq += l->e[i].sumsq;
        prof += l->e[i].proficient;
    }
    assert_true(count > 0);
    assert_int_equal(obs, r.observations);
    assert_int_equal(count, r.count);
    assert_int_equal(sum, (int64_t)r.sum);
    assert_int_equal(sumsq, (int64_t)r.sumsq);
    assert_int_equal(prof, r.proficient);
}

/* Every coach-week value of a window, with its figures, and
 * the same figures read from each one's AGG_COACH value. */
struct coaches {
    int32_t from, until;
    size_t n;
    int32_t monday[MAX_LISTS];
    char coach[MAX_LISTS][65];
    uint64_t observations[MAX_LISTS], count[MAX_LISTS];
    double sum[MAX_LISTS];
};

static int coaches_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    struct coaches *c = arg;

    assert_true(c->n < MAX_LISTS && strlen(coach) < 65);
    c->monday[c->n] = monday;
    snprintf(c->coach[c->n], sizeof(c->coach[0]), "%s", coach);
    c->observations[c->n] = w->observations;
    for (size_t i = 0; i < w->n_behaviours; i++) {
        c->count[c->n] += w->behaviours[i]->count;
        c->sum[c->n] += w->behaviours[i]->sum;
    }
    c->n++;
    return 0;
}

static int coach_weeks_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w,
                          int64_t raters, void *arg)
{
    (void)raters;
    return coaches_cb(monday, coach, w, arg);
}

static int coaches_txn(struct store_txn *t, void *arg)
{
    struct coaches *c = arg;

    return agg_read_coaches(t, 0, RUBRIC, c->from, c->until, coaches_cb, c);
}

/* The same window by point reads of the coaches ids[0..n). */
struct points {
    struct coaches c;
    const char *ids[MAX_LISTS];
    size_t n;
};

static int points_txn(struct store_txn *t, void *arg)
{
    struct points *p = arg;

    return agg_read_coach_weeks(t, 0, RUBRIC, p->ids, p->n, p->c.from, p->c.until, coach_weeks_cb,
                                &p->c);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The coach-week values of the window [from, until] are n, by week and
 * coach id, each equal to its AGG_COACH value read rated; point reads of
 * the coaches among them (and one nobody observed) give the same. */
static void assert_coaches(struct store *s, int32_t from, int32_t until, size_t n)
{
    static struct points p;
    struct coaches c;

    memset(&c, 0, sizeof(c));
    c.from = from;
    c.until = until;
    assert_int_equal(store_view(s, coaches_txn, &c), 0);
    assert_int_equal(c.n, n);
    memset(&p, 0, sizeof(p));
    p.c.from = from;
    p.c.until = until;
    p.ids[p.n++] = "flm.nobody";
    for (size_t i = 0; i < c.n; i++) {
        size_t k = 0;

        while (k < p.n && strcmp(p.ids[k], c.coach[i]) != 0) {
            k++;
        }
        if (k == p.n) {
            p.ids[p.n++] = c.coach[i];
        }
    }
    qsort(p.ids, p.n, sizeof(p.ids[0]), str_cmp);
    assert_int_equal(store_view(s, points_txn, &p), 0);
    assert_int_equal(p.c.n, c.n);
    for (size_t i = 0; i < c.n; i++) {
        assert_int_equal(p.c.monday[i], c.monday[i]);
        assert_string_equal(p.c.coach[i], c.coach[i]);
        assert_int_equal(p.c.observations[i], c.observations[i]);
        assert_int_equal(p.c.count[i], c.count[i]);
        assert_true(p.c.sum[i] == c.sum[i]);
    }
    for (size_t i = 0; i < c.n; i++) {
        struct rated r;

        if (i > 0 && c.monday[i] == c.monday[i - 1]) {
            assert_true(strcmp(c.coach[i - 1], c.coach[i]) < 0);
        }
        memset(&r, 0, sizeof(r));
        r.observer = c.coach[i];
        r.monday = c.monday[i];
        r.kind = AGG_COACH;
        assert_int_equal(store_view(s, rated_txn, &r), 0);
        assert_true(r.observations > 0 && r.count > 0);
        assert_int_equal(c.observations[i], r.observations);
        assert_int_equal(c.count[i], r.count);
        assert_true(c.sum[i] == r.sum);
    }
}

static void assert_verifies(struct store *s)
{
    struct agg_verify_result r;

    assert_int_equal(agg_verify(s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* One list per observer and week, its managers in id order, adding up to
 * the observer's week; an amendment that moves a session to another
 * manager or week moves its share, and a week left empty has no list. */
static void test_lists(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c, d, e, g, h;
    struct lists ls;
    const struct agg_seen *l;

    testutil_submit_seeded(f->s, "alice", &a, "flm.dan", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &b, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "alice", &c, "flm.dan", T0 + 7200, NULL);
    testutil_submit_seeded(f->s, "alice", &d, "flm.cara", T0 + WEEK_S, NULL);
    testutil_submit_seeded(f->s, "bob", &e, "flm.cara", T0 + 10800, NULL);
    read_lists(f->s, &ls);
    assert_int_equal(ls.coached, 0);
    assert_int_equal(ls.n, 3); /* alice's two weeks, bob's one */
    l = list_of(&ls, "alice", MON0);
    assert_non_null(l);
    assert_int_equal(l->n, 2);
    assert_entry(l, 0, "flm.cara", 1);
    assert_entry(l, 1, "flm.dan", 2);
    assert_adds_up(f->s, l, "alice", MON0);
    l = list_of(&ls, "alice", MON0 + 7);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    assert_adds_up(f->s, l, "alice", MON0 + 7);
    l = list_of(&ls, "bob", MON0);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->e[0].coach, "flm.cara");
    lists_free(&ls);
    /* The coach-weeks: flm.cara and flm.dan the first week (alice's and
     * bob's together), flm.cara the second. */
    assert_coaches(f->s, MON0, MON0 + 7, 3);
    assert_verifies(f->s);
    /* b (flm.cara) amended onto flm.dan: flm.cara leaves alice's week. */
    testutil_submit_seeded(f->s, "alice", &g, "flm.dan", T0 + 3600, b.id);
    /* d amended into the first week: its own week has no list left. */
    testutil_submit_seeded(f->s, "alice", &h, "flm.cara", T0 + 14400, d.id);
    read_lists(f->s, &ls);
    assert_int_equal(ls.n, 2);
    assert_null(list_of(&ls, "alice", MON0 + 7));
    l = list_of(&ls, "alice", MON0);
    assert_non_null(l);
    assert_int_equal(l->n, 2);
    assert_entry(l, 0, "flm.cara", 1);
    assert_entry(l, 1, "flm.dan", 3);
    assert_adds_up(f->s, l, "alice", MON0);
    lists_free(&ls);
    /* The second week has no coach left. */
    assert_coaches(f->s, MON0, MON0 + 7, 2);
    assert_verifies(f->s);
}

static int erase_txn(struct store_txn *t, void *arg)
{
    return erase_person_txn(t, arg);
}

static void erase(struct store *s, const char *id, struct erase_request *er)
{
    memset(er, 0, sizeof(*er));
    er->id = id;
    er->now_ms = testutil_now_ms();
    er->actor = "test";
    er->origin = "test";
    assert_int_equal(store_exec(s, erase_txn, er), 0);
}

/* An erased manager is listed under their pseudonym only, and an erased
 * observer has no list under their id; verify agrees with both. */
static void test_erased(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct erase_request er;
    struct lists ls;
    const struct agg_seen *l;

    testutil_submit_seeded(f->s, "alice", &a, "flm.dan", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &b, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "bob", &c, "flm.dan", T0 + 7200, NULL);
    erase(f->s, "flm.dan", &er);
    read_lists(f->s, &ls);
    assert_int_equal(ls.n, 2);
    for (size_t i = 0; i < ls.n; i++) {
        for (size_t k = 0; k < ls.l[i].n; k++) {
            assert_string_not_equal(ls.l[i].e[k].coach, "flm.dan");
        }
    }
    l = list_of(&ls, "bob", MON0);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    assert_string_equal(l->e[0].coach, er.pseudonym);
    /* The coach-week values: flm.dan's two sessions under the pseudonym
     * only, flm.cara's as they were. */
    assert_int_equal(ls.ncw, 2);
    for (size_t i = 0; i < ls.ncw; i++) {
        assert_string_not_equal(ls.cw[i].coach, "flm.dan");
    }
    assert_null(coach_week_of(&ls, AGG_COACH_WEEK, "flm.dan", MON0));
    assert_non_null(coach_week_of(&ls, AGG_COACH_WEEK, er.pseudonym, MON0));
    assert_int_equal(coach_week_of(&ls, AGG_COACH_WEEK, er.pseudonym, MON0)->observations, 2);
    assert_non_null(coach_week_of(&ls, AGG_COACH_WEEK, "flm.cara", MON0));
    assert_int_equal(coach_week_of(&ls, AGG_COACH_WEEK, "flm.cara", MON0)->observations, 1);
    lists_free(&ls);
    assert_verifies(f->s);
    erase(f->s, "alice", &er);
    read_lists(f->s, &ls);
    assert_int_equal(ls.n, 2);
    assert_null(list_of(&ls, "alice", MON0));
    assert_non_null(list_of(&ls, er.pseudonym, MON0));
    lists_free(&ls);
    assert_verifies(f->s);
}

/* A damaged figure in a list is named by verify under the manager's
 * observer-coach key, and repaired. */
static int tamper_txn(struct store_txn *t, void *arg)
{
    struct keys_buf k;
    struct agg_seen l;
    MDB_val v;
    int rc;

    (void)arg;
    memset(&l, 0, sizeof(l));
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0), 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    assert_int_equal(agg_seen_decode(&l, v.mv_data, v.mv_size), 0);
    l.e[0].sum++;
    rc = agg_seen_put(t, k.b, k.len, &l);
    agg_seen_free(&l);
    return rc;
}

struct diffs {
    unsigned n;
    char first[512];
    unsigned format4; /* differences naming a value format 4 kept */
};

static void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;

    d->format4 += strstr(what, "format 4") != NULL;
    if (d->n++ == 0) {
        snprintf(d->first, sizeof(d->first), "%s: %s", key, what);
    }
}

static void test_verify_names_figure(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a;
    struct agg_verify_result r;
    struct diffs d;

    testutil_submit_seeded(f->s, "alice", &a, "flm.cara", T0, NULL);
    assert_int_equal(store_exec(f->s, tamper_txn, NULL), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_non_null(
        strstr(d.first, "observer-coach/alice/coaching-conversation/2025-W10/flm.cara: "));
    assert_verifies(f->s);
}

/* Turns the closed store in dir back into aggregate format 4's layout:
 * every manager of a list becomes the AGG_OBSERVER_COACH value format 4
 * stored (observations and one behaviour AGG_RATED), the coach-week
 * values and impact blocks are deleted, and the format key says format
 * (4, or the current one for a store whose upgrade never ran). */
static void back_to_format4(const char *dir, uint32_t format)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi agg;
    MDB_cursor *cur;
    MDB_val k, v;
    static uint8_t keys[64][256], vals[64][256];
    size_t klen[64], vlen[64], n = 0;
    struct agg_seen l;
    struct agg_val a;
    int rc;

    memset(&l, 0, sizeof(l));
    memset(&a, 0, sizeof(a));
    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    testutil_lmdb_put_agg_format(txn, format);
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;

        /* Format 4 had no coach-week values and no impact blocks. */
        if (AGG_KIND_COACHES(p[0]) || AGG_KIND_IMPACT(p[0])) {
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
            continue;
        }
        if (!AGG_KIND_SEEN(p[0])) {
            continue;
        }
        assert_int_equal(agg_seen_decode(&l, v.mv_data, v.mv_size), 0);
        for (size_t i = 0; i < l.n; i++) {
            struct agg_beh *b;

            assert_true(n < 64);
            memcpy(keys[n], p, k.mv_size);
            keys[n][0] = (uint8_t)((p[0] & AGG_ASSIGNED) | AGG_OBSERVER_COACH);
            memcpy(keys[n] + k.mv_size, l.e[i].coach, l.e[i].clen);
            klen[n] = k.mv_size + l.e[i].clen;
            agg_val_clear(&a);
            a.observations = l.e[i].observations;
            if (l.e[i].count > 0) {
                b = agg_val_beh(&a, AGG_RATED);
                assert_non_null(b);
                b->count = l.e[i].count;
                b->sum = (double)l.e[i].sum;
                b->sumsq = (double)l.e[i].sumsq;
                b->proficient = l.e[i].proficient;
            }
            vlen[n] = agg_val_size(&a);
            assert_true(vlen[n] <= sizeof(vals[0]));
            assert_int_equal(agg_val_encode(&a, vals[n], vlen[n]), 0);
            n++;
        }
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
    }
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
    agg_seen_free(&l);
    agg_val_free(&a);
}

/* A copy of every list, to compare before and after. */
static void lists_same(const struct lists *x, const struct lists *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        assert_int_equal(keys_compare(x->key[i].b, x->key[i].len, y->key[i].b, y->key[i].len), 0);
        assert_int_equal(x->l[i].n, y->l[i].n);
        for (size_t k = 0; k < x->l[i].n; k++) {
            const struct agg_seen_ent *p = &x->l[i].e[k], *q = &y->l[i].e[k];

            assert_string_equal(p->coach, q->coach);
            assert_int_equal(p->observations, q->observations);
            assert_int_equal(p->count, q->count);
            assert_int_equal(p->sum, q->sum);
            assert_int_equal(p->sumsq, q->sumsq);
            assert_int_equal(p->proficient, q->proficient);
        }
    }
    assert_int_equal(x->ncw, y->ncw);
    for (size_t i = 0; i < x->ncw; i++) {
        const struct agg_seen_ent *p = &x->cw[i], *q = &y->cw[i];

        assert_int_equal(
            keys_compare(x->cw_key[i].b, x->cw_key[i].len, y->cw_key[i].b, y->cw_key[i].len), 0);
        assert_string_equal(p->coach, q->coach);
        assert_int_equal(p->observations, q->observations);
        assert_int_equal(p->count, q->count);
        assert_int_equal(p->sum, q->sum);
        assert_int_equal(p->sumsq, q->sumsq);
        assert_int_equal(p->proficient, q->proficient);
    }
}

static int block_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    size_t *n = arg;

    (void)klen;
    (void)val;
    (void)vlen;
    *n += AGG_KIND_IMPACT(key[0]);
    return 0;
}

static int blocks_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, block_cb, arg);
}

/* The impact blocks (and twins) stored. */
static size_t count_blocks(struct store *s)
{
    size_t n = 0;

    assert_int_equal(store_view(s, blocks_txn, &n), 0);
    return n;
}

/* A store of format 4 opened: its observer-coach values become the same
 * lists the writer made, none of them is left, and verify passes. The
 * same store whose format key claims 5 (the upgrade does not run) fails
 * verify, which names a format-4 value, until repaired. */
static void test_format4_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c, d;
    struct agg_verify_result r;
    struct lists before, after;
    struct diffs df;
    uint32_t format = 0;

    testutil_submit_seeded(f->s, "alice", &a, "flm.dan", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &b, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "bob", &c, "flm.cara", T0 + 7200, NULL);
    testutil_submit_seeded(f->s, "alice", &d, "mgr.jones", T0 + WEEK_S, NULL);
    /* b fulfilled an assignment: its twins are a list and a coach-week. */
    assert_int_equal(store_exec(f->s, testutil_mark_assigned_txn, b.id), 0);
    /* The managers' blocks, the twin's, and the line-coach blocks of the
     * three managers as their lines see them (format 7). */
    assert_int_equal(count_blocks(f->s), 3 + 1 + 3);
    read_lists(f->s, &before);
    assert_int_equal(before.n, 4);
    assert_non_null(list_of_kind(&before, AGG_OBSERVER_WEEK_ASG, "alice", MON0));
    assert_int_equal(list_of_kind(&before, AGG_OBSERVER_WEEK_ASG, "alice", MON0)->n, 1);
    assert_int_equal(before.ncw, 3 + 1);
    assert_non_null(coach_week_of(&before, AGG_COACH_WEEK_ASG, "flm.cara", MON0));
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_format4(f->dir, 4);
    f->s = testutil_store_open_enforced(f->dir);
    read_lists(f->s, &after);
    assert_int_equal(after.coached, 0);
    lists_same(&before, &after);
    lists_free(&after);
    assert_coaches(f->s, MON0, MON0 + 7, 3);
    /* The impact blocks are made too (format 6), the twin's as well, and
     * the line-coach blocks (format 7). */
    assert_int_equal(count_blocks(f->s), 3 + 1 + 3);
    assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
    assert_int_equal(format, AGG_FORMAT);
    assert_verifies(f->s);
    /* The upgrade disabled: the old values stay, and verify says so. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_format4(f->dir, AGG_FORMAT);
    f->s = testutil_store_open_enforced(f->dir);
    read_lists(f->s, &after);
    assert_int_equal(after.n, 0);
    assert_int_equal(after.coached, 4 + 1);
    lists_free(&after);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
    /* Each format-4 value, each manager missing from an observer's list,
     * each coach-week value missing and each coach's week missing its
     * impact block, the assigned twins' too, and each line's view of a
     * coach's week missing its line-coach block. */
    assert_int_equal(r.differences, (4 + 1) + (4 + 1) + (3 + 1) + (3 + 1) + 3);
    assert_int_equal(df.format4, 4 + 1);
    read_lists(f->s, &after);
    lists_same(&before, &after);
    lists_free(&after);
    lists_free(&before);
    assert_int_equal(count_blocks(f->s), 3 + 1 + 3);
    assert_verifies(f->s);
}

/* The assigned twins (AGG_OBSERVER_WEEK_ASG, AGG_COACH_WEEK_ASG) hold the
 * assigned record only, from the rebuild and then from the writer: its
 * amendment (assigned too) onto another manager moves its share in both. */
static void test_assigned_twins(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct lists ls;
    const struct agg_seen *l;
    const struct agg_seen_ent *e;

    testutil_submit_seeded(f->s, "alice", &a, "flm.dan", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &b, "flm.cara", T0 + 3600, NULL);
    assert_int_equal(store_exec(f->s, testutil_mark_assigned_txn, a.id), 0);
    read_lists(f->s, &ls);
    l = list_of_kind(&ls, AGG_OBSERVER_WEEK_ASG, "alice", MON0);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    assert_entry(l, 0, "flm.dan", 1);
    assert_true(l->e[0].count > 0);
    assert_int_equal(list_of(&ls, "alice", MON0)->n, 2);
    e = coach_week_of(&ls, AGG_COACH_WEEK_ASG, "flm.dan", MON0);
    assert_non_null(e);
    assert_int_equal(e->observations, 1);
    assert_int_equal(e->count, l->e[0].count);
    assert_int_equal(e->sum, l->e[0].sum);
    assert_null(coach_week_of(&ls, AGG_COACH_WEEK_ASG, "flm.cara", MON0));
    assert_non_null(coach_week_of(&ls, AGG_COACH_WEEK, "flm.cara", MON0));
    lists_free(&ls);
    assert_verifies(f->s);
    /* The writer: a amended onto flm.cara. */
    testutil_submit_seeded(f->s, "alice", &c, "flm.cara", T0, a.id);
    read_lists(f->s, &ls);
    l = list_of_kind(&ls, AGG_OBSERVER_WEEK_ASG, "alice", MON0);
    assert_non_null(l);
    assert_int_equal(l->n, 1);
    assert_entry(l, 0, "flm.cara", 1);
    assert_null(coach_week_of(&ls, AGG_COACH_WEEK_ASG, "flm.dan", MON0));
    assert_null(coach_week_of(&ls, AGG_COACH_WEEK, "flm.dan", MON0));
    e = coach_week_of(&ls, AGG_COACH_WEEK_ASG, "flm.cara", MON0);
    assert_non_null(e);
    assert_int_equal(e->observations, 1);
    assert_int_equal(coach_week_of(&ls, AGG_COACH_WEEK, "flm.cara", MON0)->observations, 2);
    lists_free(&ls);
    assert_verifies(f->s);
}

/* A list that announces no manager, or more than its bytes hold, is
 * refused as damage: verify names it, a reader gets -EIO. */
static int put_raw_list(struct store_txn *t, void *arg)
{
    const uint8_t *val = arg;
    struct keys_buf k;

    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0), 0);
    return store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, val, 6, NULL);
}

static int count_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    size_t *n = arg;

    (void)monday;
    (void)coach;
    (void)w;
    (*n)++;
    return 0;
}

static int read_txn(struct store_txn *t, void *arg)
{
    return agg_read_coached(t, "alice", RUBRIC, MON0, MON0, count_cb, arg);
}

static void test_damaged_count(void **state)
{
    struct testutil_seeded *f = *state;
    /* Version 1, flags 0, u32 count; no manager follows. */
    static const uint8_t empty[6] = {AGG_SEEN_VERSION, 0, 0, 0, 0, 0};
    static const uint8_t past[6] = {AGG_SEEN_VERSION, 0, 1, 0, 0, 0};
    const uint8_t *vals[2] = {empty, past};
    struct agg_verify_result r;
    struct diffs d;
    size_t n = 0;

    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(store_exec(f->s, put_raw_list, (void *)vals[i]), 0);
        memset(&d, 0, sizeof(d));
        assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
        assert_int_equal(r.differences, 1);
        assert_string_equal(d.first,
                            "observer-week/alice/coaching-conversation/2025-W10: stored list does "
                            "not decode");
        assert_int_equal(store_view(f->s, read_txn, &n), -EIO);
        assert_int_equal(n, 0);
        assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
        assert_verifies(f->s);
    }
}

/* More managers in one observer's week, and more coaches in one week, than
 * a u16 counts (format 5's first lists stopped the store there): the
 * writer's merge stores them all, a reader gets each once in id order, and
 * taking the shares back leaves nothing. The shares go straight to the
 * merge the batch's flush runs (agg_seen_write()); records would take
 * minutes. */
#define MANY 70000

static int many_txn(struct store_txn *t, void *arg)
{
    const int *sign = arg;
    struct agg_arena arena;
    struct agg_map m;
    struct agg_val v;
    struct agg_beh *b;
    struct keys_buf k;
    char coach[16];
    int rc;

    memset(&arena, 0, sizeof(arena));
    memset(&m, 0, sizeof(m));
    memset(&v, 0, sizeof(v));
    m.arena = &arena;
    v.observations = 1;
    b = agg_val_beh(&v, AGG_RATED);
    assert_non_null(b);
    b->count = 2;
    b->sum = 5;
    b->sumsq = 13;
    b->proficient = 1;
    for (int i = 0; i < MANY; i++) {
        snprintf(coach, sizeof(coach), "m%06d", i);
        assert_int_equal(agg_key_coached(&k, "alice", RUBRIC, MON0, coach), 0);
        assert_int_equal(agg_map_add(&m, k.b, k.len, &v, *sign), 0);
        assert_int_equal(agg_key(&k, AGG_COACH, coach, RUBRIC, 1, MON0), 0);
        assert_int_equal(agg_map_add(&m, k.b, k.len, &v, *sign), 0);
    }
    rc = agg_seen_write_map(t, &m);
    agg_map_free(&m);
    agg_arena_free(&arena);
    agg_val_free(&v);
    return rc;
}

struct order {
    size_t n;
    int bad;
    uint64_t want; /* each manager's observations and twice its ratings */
    char prev[65];
};

static int order_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    struct order *o = arg;
    char want[16];

    snprintf(want, sizeof(want), "m%06zu", o->n);
    o->bad |= monday != MON0 || strcmp(coach, want) != 0 || w->observations != o->want ||
              w->n_behaviours != 1 || w->behaviours[0]->count != 2 * o->want ||
              w->behaviours[0]->sum != 5.0 * (double)o->want;
    o->n++;
    return 0;
}

static int order_txn(struct store_txn *t, void *arg)
{
    struct order *o = arg;
    int rc = agg_read_coached(t, "alice", RUBRIC, MON0, MON0 + 7, order_cb, &o[0]);

    return rc != 0 ? rc : agg_read_coaches(t, 0, RUBRIC, MON0, MON0 + 7, order_cb, &o[1]);
}

static void test_many_managers(void **state)
{
    struct testutil_seeded *f = *state;
    struct order o[2];
    struct lists ls;
    int sign = 1;

    assert_int_equal(store_exec(f->s, many_txn, &sign), 0);
    memset(o, 0, sizeof(o));
    o[0].want = o[1].want = 1;
    assert_int_equal(store_view(f->s, order_txn, o), 0);
    assert_int_equal(o[0].n, MANY);
    assert_false(o[0].bad);
    assert_int_equal(o[1].n, MANY);
    assert_false(o[1].bad);
    /* A second commit's merge reads the long list back and adds to it. */
    assert_int_equal(store_exec(f->s, many_txn, &sign), 0);
    memset(o, 0, sizeof(o));
    o[0].want = o[1].want = 2;
    assert_int_equal(store_view(f->s, order_txn, o), 0);
    assert_int_equal(o[0].n, MANY);
    assert_false(o[0].bad);
    assert_int_equal(o[1].n, MANY);
    assert_false(o[1].bad);
    sign = -1;
    assert_int_equal(store_exec(f->s, many_txn, &sign), 0);
    assert_int_equal(store_exec(f->s, many_txn, &sign), 0);
    memset(&ls, 0, sizeof(ls));
    assert_int_equal(store_view(f->s, lists_txn, &ls), 0);
    assert_int_equal(ls.n, 0);
    assert_int_equal(ls.ncw, 0);
    lists_free(&ls);
}

/* Figures past a u32 in one week: each behaviour of the share fits an
 * AggWeek value, but their sum over a rubric's behaviours does not fit a
 * u32 (a few million sessions of one coach in one week would reach it).
 * The list and the coach-week still store it and read it back exactly;
 * a figure that could not be written would stop the writer. */
#define BIG_SUMSQ 3200000000.0

static int big_txn(struct store_txn *t, void *arg)
{
    struct agg_arena arena;
    struct agg_map m;
    struct agg_val v;
    struct keys_buf k;
    static const char *const ids[2] = {"beh.a", "beh.b"};
    int rc;

    (void)arg;
    memset(&arena, 0, sizeof(arena));
    memset(&m, 0, sizeof(m));
    memset(&v, 0, sizeof(v));
    m.arena = &arena;
    v.observations = 1;
    for (int i = 0; i < 2; i++) {
        struct agg_beh *b = agg_val_beh(&v, ids[i]);

        assert_non_null(b);
        b->count = 200000000;
        b->sum = 800000000.0;
        b->sumsq = BIG_SUMSQ;
        b->proficient = 200000000;
    }
    assert_int_equal(agg_key_coached(&k, "alice", RUBRIC, MON0, "flm.big"), 0);
    assert_int_equal(agg_map_add(&m, k.b, k.len, &v, 1), 0);
    assert_int_equal(agg_key(&k, AGG_COACH, "flm.big", RUBRIC, 1, MON0), 0);
    assert_int_equal(agg_map_add(&m, k.b, k.len, &v, 1), 0);
    rc = agg_seen_write_map(t, &m);
    agg_map_free(&m);
    agg_arena_free(&arena);
    agg_val_free(&v);
    return rc;
}

static int big_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    int *seen = arg;

    assert_int_equal(monday, MON0);
    assert_string_equal(coach, "flm.big");
    assert_int_equal(w->n_behaviours, 1);
    assert_int_equal(w->behaviours[0]->count, 400000000);
    assert_true(w->behaviours[0]->sumsq == 2 * BIG_SUMSQ);
    assert_int_equal(w->behaviours[0]->proficient, 400000000);
    ++*seen;
    return 0;
}

static int big_read_txn(struct store_txn *t, void *arg)
{
    int *seen = arg;
    int rc = agg_read_coached(t, "alice", RUBRIC, MON0, MON0 + 7, big_cb, &seen[0]);

    return rc != 0 ? rc : agg_read_coaches(t, 0, RUBRIC, MON0, MON0 + 7, big_cb, &seen[1]);
}

static void test_figures_past_u32(void **state)
{
    struct testutil_seeded *f = *state;
    int seen[2] = {0, 0};

    assert_int_equal(store_exec(f->s, big_txn, NULL), 0);
    assert_false(store_failed(f->s));
    assert_int_equal(store_view(f->s, big_read_txn, seen), 0);
    assert_int_equal(seen[0], 1); /* the observer's list */
    assert_int_equal(seen[1], 1); /* the coach-week */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lists, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_erased, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_verify_names_figure, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_format4_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_assigned_twins, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_count, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_many_managers, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_figures_past_u32, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
