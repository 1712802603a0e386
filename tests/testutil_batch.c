/*
 * testutil_batch: requests written as one batch of the store's writer
 * (testutil.h, testutil_write_one_batch()), for the tests of what the
 * writer merges over a batch, and the seeded store those tests open
 * (testutil_seeded_setup()).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg.h"
#include "cadence.h"
#include "erase.h"
#include "keys.h"
#include "obs.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "tls_ctx.h"

/* A request that holds the writer inside its batch until opened, so that
 * the requests submitted meanwhile are all taken as the next batch. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;
    int open;
};

static int gate_fn(struct store_txn *t, void *arg)
{
    struct gate *g = arg;

    (void)t;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open) {
        pthread_cond_wait(&g->cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void testutil_write_one_batch(struct store *s, int n, testutil_fill_fn fill,
                              testutil_check_fn check, void *arg, struct store_write *mid,
                              int mid_at)
{
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    struct store_write gw;
    struct store_write *w = calloc((size_t)n, sizeof(*w));
    struct store_stats ss;
    struct store_write *done;
    int batch = mid != NULL ? n + 1 : n;
    int back = 0;

    assert_non_null(w);
    memset(&gw, 0, sizeof(gw));
    gw.fn = gate_fn;
    gw.fn_arg = &g;
    assert_int_equal(store_submit(s, &gw), 0);
    pthread_mutex_lock(&g.mu);
    while (!g.entered) {
        pthread_cond_wait(&g.cv, &g.mu);
    }
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < n; i++) {
        if (mid != NULL && i == mid_at) {
            assert_int_equal(store_submit(s, mid), 0);
        }
        fill(arg, &w[i], i);
        assert_int_equal(store_submit(s, &w[i]), 0);
    }
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    store_drain(s);
    while ((done = store_completed_take(s)) != NULL) {
        for (; done != NULL; done = done->next) {
            back++;
        }
    }
    assert_int_equal(back, batch + 1);
    assert_int_equal(gw.rc, 0);
    for (int i = 0; i < n; i++) {
        check(arg, &w[i], i);
    }
    store_get_stats(s, &ss);
    assert_int_equal(ss.last_batch, batch);
    assert_false(store_failed(s));
    free(w);
}

void testutil_write_each(struct store *s, int n, testutil_fill_fn fill, testutil_check_fn check,
                         void *arg)
{
    for (int i = 0; i < n; i++) {
        struct store_write w;

        fill(arg, &w, i);
        assert_int_equal(store_submit(s, &w), 0);
        store_drain(s);
        assert_ptr_equal(store_completed_take(s), &w);
        check(arg, &w, i);
    }
}

struct store *testutil_store_open_enforced(const char *dir)
{
    struct store_policy pol;
    struct store_opts opts;
    struct store *s = NULL;

    store_policy_default(&pol);
    pol.enforce = 1;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(dir, &opts, &s), 0);
    return s;
}

void testutil_store_close_drained(struct store *s)
{
    store_drain(s);
    (void)store_completed_take(s);
    store_close(s);
}

int testutil_seeded_setup(void **state)
{
    struct testutil_seeded *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_watchdog(240);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    testutil_seed_org(f->dir);
    f->s = testutil_store_open_enforced(f->dir);
    *state = f;
    return 0;
}

int testutil_seeded_teardown(void **state)
{
    struct testutil_seeded *f = *state;

    if (f->s != NULL) {
        testutil_store_close_drained(f->s);
    }
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

int testutil_mark_assigned_txn(struct store_txn *t, void *arg)
{
    const uint8_t *id = arg;
    Coachq__V1__StoredObservation *rec = NULL;
    uint8_t skey[8];
    uint8_t *packed;
    size_t n;
    int rc;

    assert_int_equal(obs_read_txn(t, id, &rec), 0);
    rec->assigned = 1;
    rec->superseded = 0; /* set when read, never stored */
    n = coachq__v1__stored_observation__get_packed_size(rec);
    packed = malloc(n);
    assert_non_null(packed);
    coachq__v1__stored_observation__pack(rec, packed);
    keys_put_be64(skey, rec->seq);
    rc = store_txn_put_raw(t, t->s->dbi_obs, skey, sizeof(skey), packed, n, NULL);
    free(packed);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc == 0 ? agg_rebuild_txn(t) : rc;
}

void testutil_lmdb_put_agg_format(MDB_txn *txn, uint32_t format)
{
    MDB_dbi meta;
    MDB_val k, v;
    uint8_t fmt[4];

    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    k.mv_data = (void *)"agg_format";
    k.mv_size = strlen("agg_format");
    keys_put_be32(fmt, format);
    v.mv_data = fmt;
    v.mv_size = sizeof(fmt);
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
}

void testutil_lmdb_agg_each(const char *dir, uint32_t format, testutil_lmdb_visit_fn visit,
                            void *arg)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi agg;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    if (format > 0) {
        testutil_lmdb_put_agg_format(txn, format);
    }
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        visit(cur, &k, &v, arg);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

int testutil_agg_format_txn(struct store_txn *t, void *arg)
{
    uint32_t *out = arg;
    MDB_val v;
    int rc = store_txn_get_raw(t, t->s->dbi_meta, (const uint8_t *)"agg_format", 10, &v);

    if (rc == 0 && v.mv_size == 4) {
        *out = keys_get_be32(v.mv_data);
    }
    return rc;
}

/* ---- actions_by's values, set by hand (the actions' values tests) -------- */

struct actions_by_set {
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
};

static int actions_by_set_txn(struct store_txn *t, void *arg)
{
    const struct actions_by_set *a = arg;

    if (a->val == NULL) {
        return store_txn_del(t, t->s->dbi_actions_by, a->key, a->klen);
    }
    return store_txn_put_raw(t, t->s->dbi_actions_by, a->key, a->klen, a->val, a->vlen, NULL);
}

int testutil_actions_by_set(struct store *s, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen)
{
    struct actions_by_set a = {key, klen, val, vlen};

    return store_exec(s, actions_by_set_txn, &a);
}

static int outcomes_raw_txn(struct store_txn *t, void *arg)
{
    const struct actions_by_set *a = arg;

    return store_txn_put_raw(t, t->s->dbi_outcomes, a->key, a->klen, a->val, a->vlen, NULL);
}

int testutil_outcomes_put_raw(struct store *s, const uint8_t *key, size_t klen, const uint8_t *val,
                              size_t vlen)
{
    struct actions_by_set a = {key, klen, val, vlen};

    return store_exec(s, outcomes_raw_txn, &a);
}

/* The page values' keys ('O' and 'R') a scan shows, collected to be
 * deleted after it (not under its cursor). */
struct values_drop {
    uint8_t (*keys)[256];
    size_t *lens;
    size_t n, cap;
};

static int values_drop_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          void *arg)
{
    struct values_drop *d = arg;

    (void)val;
    (void)vlen;
    if (klen > 256) {
        return -EINVAL;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap > 0 ? 2 * d->cap : 64;
        uint8_t(*k)[256] = realloc(d->keys, cap * sizeof(*k));
        size_t *l = realloc(d->lens, cap * sizeof(*l));

        if (k != NULL) {
            d->keys = k;
        }
        if (l != NULL) {
            d->lens = l;
        }
        if (k == NULL || l == NULL) {
            return -ENOMEM;
        }
        d->cap = cap;
    }
    memcpy(d->keys[d->n], key, klen);
    d->lens[d->n++] = klen;
    return 0;
}

static int values_drop_txn(struct store_txn *t, void *arg)
{
    struct values_drop d;
    int rc;

    (void)arg;
    memset(&d, 0, sizeof(d));
    rc = store_txn_scan(t, t->s->dbi_actions_by, (const uint8_t *)"O", 1, 0, values_drop_cb, &d);
    if (rc == 0) {
        rc =
            store_txn_scan(t, t->s->dbi_actions_by, (const uint8_t *)"R", 1, 0, values_drop_cb, &d);
    }
    for (size_t i = 0; i < d.n && rc == 0; i++) {
        rc = store_txn_del(t, t->s->dbi_actions_by, d.keys[i], d.lens[i]);
    }
    free(d.keys);
    free(d.lens);
    return rc;
}

int testutil_actions_values_drop(struct store *s)
{
    return store_exec(s, values_drop_txn, NULL);
}

struct meta_be32 {
    const char *key;
    uint32_t v;
};

static int meta_be32_txn(struct store_txn *t, void *arg)
{
    const struct meta_be32 *m = arg;
    uint8_t v[4];

    keys_put_be32(v, m->v);
    return store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)m->key, strlen(m->key), v, 4,
                             NULL);
}

int testutil_meta_put_be32(struct store *s, const char *key, uint32_t v)
{
    struct meta_be32 m = {key, v};

    return store_exec(s, meta_be32_txn, &m);
}

void testutil_observe_scored(struct store *s, const char *observer, const char *coach, int32_t day,
                             int hour, uint32_t score, int64_t received_ms)
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, "rep.1", (int64_t)day * 86400 + hour * 3600);
    for (size_t i = 0; i < o.o.n_ratings; i++) {
        o.r[i].score = score;
    }
    assert_int_equal(testutil_store_submit(s, &o.o, observer, received_ms), 0);
}

void testutil_check_stored(void *arg, const struct store_write *w, int i)
{
    (void)arg;
    if (w->rc != 0 || w->result != STORE_STORED) {
        fail_msg("request %d: rc %d (%s)", i, w->rc, w->fault.message);
    }
}

int64_t testutil_now_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void testutil_submit_seeded(struct store *s, const char *observer, struct testutil_obs *t,
                            const char *coach, int64_t started_at, const uint8_t *amends)
{
    const char *rep = strcmp(coach, "flm.dan") == 0     ? "rep.jon"
                      : strcmp(coach, "mgr.jones") == 0 ? "rep.kim"
                                                        : "rep.ida";

    testutil_obs_make(t, coach, rep, started_at);
    if (amends != NULL) {
        t->o.amends.data = (uint8_t *)amends;
        t->o.amends.len = 16;
    }
    assert_int_equal(testutil_store_submit(s, &t->o, observer, testutil_now_ms()), 0);
}

/* ---- The action records' stored bytes, by hand (test_actions_record) ---- */

struct actions_record_io {
    const uint8_t *id;
    const uint8_t *val; /* set: NULL deletes */
    uint8_t *buf;       /* get */
    size_t len, cap;
};

static int actions_record_set_txn(struct store_txn *t, void *arg)
{
    const struct actions_record_io *a = arg;

    if (a->val == NULL) {
        return store_txn_del(t, t->s->dbi_actions, a->id, 16);
    }
    return store_txn_put_raw(t, t->s->dbi_actions, a->id, 16, a->val, a->len, NULL);
}

int testutil_actions_record_set(struct store *s, const uint8_t id[16], const uint8_t *val,
                                size_t vlen)
{
    struct actions_record_io a = {id, val, NULL, vlen, 0};

    return store_exec(s, actions_record_set_txn, &a);
}

static int actions_record_get_txn(struct store_txn *t, void *arg)
{
    struct actions_record_io *a = arg;
    MDB_val v;
    int rc = store_txn_get_raw(t, t->s->dbi_actions, a->id, 16, &v);

    if (rc == 0 && v.mv_size > a->cap) {
        rc = -ENOSPC;
    }
    if (rc == 0) {
        memcpy(a->buf, v.mv_data, v.mv_size);
        a->len = v.mv_size;
    }
    return rc;
}

int testutil_actions_record_get(struct store *s, const uint8_t id[16], uint8_t *buf, size_t cap,
                                size_t *len)
{
    struct actions_record_io a = {id, NULL, buf, 0, cap};
    int rc = store_view(s, actions_record_get_txn, &a);

    *len = a.len;
    return rc;
}

/* The records' keys, collected by a scan to be rewritten after it. */
struct actions_unpad {
    uint8_t (*ids)[16];
    size_t n, cap;
};

static int actions_unpad_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                            void *arg)
{
    struct actions_unpad *u = arg;

    (void)val;
    (void)vlen;
    if (klen != 16) {
        return -EINVAL;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap > 0 ? 2 * u->cap : 64;
        uint8_t(*ids)[16] = realloc(u->ids, cap * sizeof(*ids));

        if (ids == NULL) {
            return -ENOMEM;
        }
        u->ids = ids;
        u->cap = cap;
    }
    memcpy(u->ids[u->n++], key, 16);
    return 0;
}

static int actions_unpad_txn(struct store_txn *t, void *arg)
{
    struct actions_unpad *u = arg;
    int rc = store_txn_scan(t, t->s->dbi_actions, NULL, 0, 0, actions_unpad_cb, u);

    for (size_t i = 0; rc == 0 && i < u->n; i++) {
        MDB_val v;
        uint8_t *copy;
        size_t skip = 0;

        rc = store_txn_get_raw(t, t->s->dbi_actions, u->ids[i], 16, &v);
        if (rc != 0) {
            break;
        }
        /* A pad is field 2047, length-delimited, with a one-byte length
         * (store/actions_record.c); what follows it is format 5's value. */
        if (v.mv_size >= 3 && ((uint8_t *)v.mv_data)[0] == 0xFA &&
            ((uint8_t *)v.mv_data)[1] == 0x7F) {
            skip = 3 + (size_t)((uint8_t *)v.mv_data)[2];
        }
        copy = malloc(v.mv_size - skip + 1);
        if (copy == NULL) {
            return -ENOMEM;
        }
        memcpy(copy, (uint8_t *)v.mv_data + skip, v.mv_size - skip);
        rc = store_txn_put_raw(t, t->s->dbi_actions, u->ids[i], 16, copy, v.mv_size - skip, NULL);
        free(copy);
    }
    return rc;
}

int testutil_actions_unpad(struct store *s, size_t *n)
{
    struct actions_unpad u;
    int rc;

    memset(&u, 0, sizeof(u));
    rc = store_exec(s, actions_unpad_txn, &u);
    *n = u.n;
    free(u.ids);
    return rc;
}

/* What testutil_tree_exists() asks and finds. */
struct tree_probe {
    const char *name;
    int exists;
};

static int tree_probe_txn(struct store_txn *t, void *arg)
{
    struct tree_probe *p = arg;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(t->txn, p->name, 0, &dbi);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return -EIO;
    }
    p->exists = 1;
    return 0;
}

int testutil_tree_exists(struct store *s, const char *name, int *exists)
{
    struct tree_probe p = {name, 0};
    int rc = store_view(s, tree_probe_txn, &p);

    *exists = p.exists;
    return rc;
}

struct store *testutil_store_open_logged(const char *dir, size_t map_size, char *log, size_t len)
{
    struct store *s;
    char path[600];
    int fd, saved;
    ssize_t got;

    snprintf(path, sizeof(path), "%s/open.log", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    s = testutil_store_open(dir, map_size);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    got = pread(fd, log, len - 1, 0);
    assert_true(got >= 0);
    log[got] = '\0';
    close(fd);
    return s;
}

int testutil_store_submit_packed(struct store *s, const uint8_t *buf, size_t len,
                                 const char *observer, int64_t received_ms)
{
    struct store_write w;
    int rc;

    memset(&w, 0, sizeof(w));
    w.obs = buf;
    w.obs_len = len;
    w.observer_id = observer;
    w.received_at_ms = received_ms;
    rc = store_submit(s, &w);
    if (rc == 0) {
        store_drain(s);
        rc = store_completed_take(s) == &w ? w.rc : -EIO;
    }
    return rc;
}

int testutil_raw_peer_setup(const char *alpn, SSL_CTX **ctx)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return testutil_raw_peer_ctx(alpn, "alice", ctx);
}

int testutil_raw_peer_ctx(const char *alpn, const char *user, SSL_CTX **ctx)
{
    struct tls_ctx_opts o;
    char rel[300], cert[600], key[600], ca[600], err[512];

    memset(&o, 0, sizeof(o));
    if (user != NULL) {
        snprintf(rel, sizeof(rel), "users/%s.crt", user);
        o.cert_file = testutil_cert_path(cert, sizeof(cert), rel);
        snprintf(rel, sizeof(rel), "users/%s.key", user);
        o.key_file = testutil_cert_path(key, sizeof(key), rel);
    }
    o.ca_file = testutil_cert_path(ca, sizeof(ca), "ca.crt");
    o.alpn = alpn;
    if (tls_ctx_client_new(&o, ctx, err, sizeof(err)) != 0) {
        fprintf(stderr, "tls_ctx_client_new: %s\n", err);
        return -1;
    }
    return 0;
}

/* The bitmap and minutes one window's list gives (the reference). */
static void cadence_bits_want(const struct cadence_day *days, size_t n, int32_t from,
                              int32_t minutes_from, uint64_t *bits, size_t nw, uint64_t *minutes)
{
    memset(bits, 0, nw * sizeof(*bits));
    *minutes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(days[i].day - from);

        bits[b / 64] |= (uint64_t)1 << (b % 64);
        if (days[i].day >= minutes_from && !days[i].observed) {
            *minutes += days[i].minutes;
        }
    }
}

static void cadence_bits_window(struct store_txn *t, const char *coach, const char *coachee,
                                int32_t from, int32_t until, int32_t minutes_from)
{
    enum { MAXD = 512, MAXW = MAXD / 64 + 1 };
    struct cadence_day *days = calloc(MAXD, sizeof(*days));
    uint64_t want[MAXW], got[MAXW], want_min, got_min;
    size_t n = 0, nw = CADENCE_BITS_WORDS(from, until);
    int more = 0;

    assert_non_null(days);
    assert_true(nw <= MAXW);
    assert_int_equal(cadence_pair_days(t, coach, coachee, from, until, days, MAXD, &n, &more), 0);
    assert_false(more);
    cadence_bits_want(days, n, from, minutes_from, want, nw, &want_min);
    /* Words past the bitmap's own are left alone: a canary shows a write
     * past nw. */
    got[nw - 1] = ~(uint64_t)0;
    if (nw < MAXW) {
        got[nw] = 0x5a5a5a5a5a5a5a5au;
    }
    assert_int_equal(
        cadence_pair_bits(t, coach, coachee, from, until, minutes_from, got, nw, &got_min), 0);
    for (size_t i = 0; i < nw; i++) {
        if (got[i] != want[i]) {
            fail_msg("%s/%s [%d, %d]: word %zu is %#llx, the days give %#llx", coach, coachee,
                     (int)from, (int)until, i, (unsigned long long)got[i],
                     (unsigned long long)want[i]);
        }
    }
    if (nw < MAXW) {
        assert_true(got[nw] == 0x5a5a5a5a5a5a5a5au);
    }
    if (got_min != want_min) {
        fail_msg("%s/%s [%d, %d] from %d: %llu minutes, the days give %llu", coach, coachee,
                 (int)from, (int)until, (int)minutes_from, (unsigned long long)got_min,
                 (unsigned long long)want_min);
    }
    free(days);
}

void testutil_cadence_bits_check(struct store_txn *t, const char *coach, const char *coachee,
                                 int32_t lo, int32_t hi)
{
    for (int32_t from = lo; from <= hi; from++) {
        /* Last days: the first day alone, a block's edge and the day past
         * it, a word's edge and the day past it, and hi. */
        const int32_t ends[] = {from, from + 6, from + 7, from + 63, from + 64, hi};

        for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
            int32_t until = ends[e];

            if (until > hi) {
                continue;
            }
            cadence_bits_window(t, coach, coachee, from, until, from);
            cadence_bits_window(t, coach, coachee, from, until, from + (until - from) / 2);
            cadence_bits_window(t, coach, coachee, from, until, until + 1);
        }
    }
}

static int erase_cb(struct store_txn *t, void *arg)
{
    return erase_person_txn(t, arg);
}

int testutil_erase(struct store *s, const char *id, int64_t now_ms, struct erase_request *er)
{
    memset(er, 0, sizeof(*er));
    er->id = id;
    er->now_ms = now_ms;
    er->actor = "test";
    er->origin = "test";
    return store_exec(s, erase_cb, er);
}

void testutil_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    char buf[65536];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}
