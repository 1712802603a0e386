/* Tests of store/agg.c: verify and repair of the aggregates, the schema 3
 * upgrade, a full map while a batch's aggregates are written, the schema 6
 * move of the records into sequence order, and `coachqd verify`. The
 * values themselves are test_agg.c and test_agg_mix.c; what the suites
 * share is testutil_agg.c. The organisation is the shared fixture
 * (testutil_seed_org(): fixtures/org.csv and certified observers alice,
 * bob, carol, dave, obs.ann; obs.ben is not certified). */
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

/* ---- Verify and repair ----------------------------------------------- */

struct tamper {
    int32_t monday;
    uint64_t observations; /* 0: delete the value */
};

static int tamper_fn(struct store_txn *t, void *arg)
{
    const struct tamper *tp = arg;
    struct agg_val w;
    uint8_t key[64];
    size_t n = 0;
    static const char coach[] = "flm.cara";

    key[n++] = AGG_COACH;
    key[n++] = sizeof(coach) - 1;
    memcpy(key + n, coach, sizeof(coach) - 1);
    n += sizeof(coach) - 1;
    key[n++] = sizeof(RUBRIC) - 1;
    memcpy(key + n, RUBRIC, sizeof(RUBRIC) - 1);
    n += sizeof(RUBRIC) - 1;
    keys_day_encode(tp->monday, key + n);
    n += 4;
    if (tp->observations == 0) {
        return store_txn_del(t, t->s->dbi_agg, key, n);
    }
    memset(&w, 0, sizeof(w));
    w.observations = (int64_t)tp->observations;
    return agg_val_put(t, key, n, &w);
}

static void test_verify_repair(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tamper tp;
    struct diffs d;

    seed_two(f);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
    assert_int_equal(r.observations, 2);
    assert_int_equal(r.counted, 2);
    /* 2 weeks x (coach, line, line-coach, org, coach-week) + 2 observers + their 2
     * lists and 2 cumulative lists + the coach's impact block and the
     * line-coach block (both weeks in one each). */
    assert_int_equal(r.keys, 18);
    assert_int_equal(r.differences, 0);
    assert_int_equal(d.n, 0);

    tp.monday = MON0;
    tp.observations = 7;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.first, "coach/flm.cara/coaching-conversation/2025-W10: "));
    assert_non_null(strstr(d.first, "observations 7, rebuilt 1"));

    /* A value that is gone and one that should not be there. */
    tp.monday = MON0 + 7;
    tp.observations = 0;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    tp.monday = MON0 + 14;
    tp.observations = 1;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 3);

    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.keys, 18);
}

/* ---- Schema 3 upgrade -------------------------------------------------- */

/* Turns the closed store in dir back into schema 2 (no aggregates), or
 * into schema 3 or 4 (aggregates emptied: they are rebuilt on opening). */
static void make_schema(const char *dir, uint32_t schema)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, agg, contrib;
    MDB_val k, v;
    uint8_t ver[4];

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    assert_int_equal(mdb_dbi_open(txn, "agg_contrib", 0, &contrib), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    assert_int_equal(keys_get_be32(v.mv_data), STORE_SCHEMA_VERSION);
    keys_put_be32(ver, schema);
    v.mv_data = ver;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    /* Schema 2 had no such databases: delete them, not just empty them. */
    assert_int_equal(mdb_drop(txn, agg, schema == 2), 0);
    assert_int_equal(mdb_drop(txn, contrib, schema == 2), 0);
    if (schema == 6) {
        /* Schema 6 stored values and contributions as protobuf messages:
         * leave one of each (wrong on purpose) for the upgrade to replace. */
        Coachq__V1__AggWeek w = COACHQ__V1__AGG_WEEK__INIT;
        Coachq__V1__AggContribution c = COACHQ__V1__AGG_CONTRIBUTION__INIT;
        uint8_t key[64], id[16], buf[64];
        size_t n = 0;

        key[n++] = AGG_COACH;
        key[n++] = 8;
        memcpy(key + n, "flm.cara", 8);
        n += 8;
        key[n++] = sizeof(RUBRIC) - 1;
        memcpy(key + n, RUBRIC, sizeof(RUBRIC) - 1);
        n += sizeof(RUBRIC) - 1;
        keys_day_encode(MON0, key + n);
        n += 4;
        w.observations = 7;
        k.mv_data = key;
        k.mv_size = n;
        v.mv_data = buf;
        v.mv_size = coachq__v1__agg_week__pack(&w, buf);
        assert_int_equal(mdb_put(txn, agg, &k, &v, 0), 0);
        memset(id, 0xab, sizeof(id));
        k.mv_data = id;
        k.mv_size = sizeof(id);
        v.mv_size = coachq__v1__agg_contribution__pack(&c, buf);
        assert_int_equal(mdb_put(txn, contrib, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Closes f's store, turns it back into schema (make_schema()) and opens
 * it again, which upgrades it. */
static void reopen_as(struct testutil_seeded *f, uint32_t schema)
{
    testutil_store_close_drained(f->s);
    f->s = NULL;
    make_schema(f->dir, schema);
    f->s = testutil_store_open_enforced(f->dir);
}

static void test_schema_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct weeks ws;
    struct tobs b2;

    seed_two(f);
    reopen_as(f, 2);
    check_first_obs_week(one_week(f->s, AGG_OBSERVER, "alice", 0, &ws));
    weeks_free(&ws);
    read_weeks(f->s, AGG_COACH, "flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.keys, 18);
    /* Contributions were rebuilt too: a double-coding peer after the
     * upgrade pairs up and verify still agrees. */
    tobs_make(&b2, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "carol", &b2.t.o), 0);
    assert_int_equal(one_week(f->s, AGG_OBSERVER, "alice", 0, &ws)->double_coded, 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    /* Opening again finds the current schema and rebuilds nothing. */
    f->s = testutil_store_open_enforced(f->dir);
    /* A schema 3 store gets the line-coach aggregates of its records. */
    reopen_as(f, 3);
    read_weeks(f->s, AGG_LINE_COACH, "slm.eve/flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* So does a schema 4 store: 4 counted double-coding once, but was
     * written before the line-coach aggregates. */
    reopen_as(f, 4);
    read_weeks(f->s, AGG_LINE_COACH, "slm.eve/flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A schema 6 store kept its values as protobuf messages: opening it
     * rewrites them in the fixed layout, and the stray ones are gone. */
    reopen_as(f, 6);
    read_weeks(f->s, AGG_COACH, "flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    /* alice's and carol's records of the session at T0, not the stray 7. */
    assert_int_equal(ws.w[0].observations, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.keys, 21);
    tobs_make(&b2, "flm.cara", "rep.ida", T0 + 60);
    assert_int_equal(submit(f->s, "carol", &b2.t.o), 0);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* Schema 3 counted a double-coded observation once per peer: opening a
 * schema 3 store rebuilds the aggregates with one count per observation. */
static void test_schema3_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs a, b, c;
    struct weeks ws;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    tobs_make(&b, "flm.cara", "rep.ida", T0);
    tobs_make(&c, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
    assert_int_equal(submit(f->s, "carol", &c.t.o), 0);
    reopen_as(f, 3);
    one_week(f->s, AGG_OBSERVER, "alice", 0, &ws);
    assert_int_equal(ws.w[0].observations, 1);
    assert_int_equal(ws.w[0].double_coded, 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* ---- A full map while the batch's aggregates are written ----------------- */

/*
 * The batch's merged aggregates are written at its end, after its records:
 * when the map fills there, the engine must grow it and retry the batch
 * like a full map anywhere else, not fail the store. The same burst (400
 * records over 100 weeks, whose values outweigh the records) is written
 * into stores whose maps start at different sizes, so that the map fills
 * at different points of the batch, the flush among them.
 */
static void test_flush_grows_map(void **state)
{
    struct testutil_seeded *f = *state;
    enum { WEEKS = 100, PER_WEEK = 4, N = WEEKS * PER_WEEK, RUNS = 12 };
    static const char *const coach[2] = {"flm.cara", "flm.dan"};
    static const char *const rep[2] = {"rep.ida", "rep.jon"};
    static const char *const observer[2] = {"alice", "bob"};
    char src[600], dst[600];
    struct stat st;

    testutil_store_close_drained(f->s);
    f->s = NULL;
    snprintf(src, sizeof(src), "%s/data.mdb", f->dir);
    assert_int_equal(stat(src, &st), 0);
    for (int run = 0; run < RUNS; run++) {
        struct store_policy pol;
        struct store_opts opts;
        struct store_stats ss;
        struct agg_verify_result r;
        struct store_write *w = calloc(N, sizeof(*w));
        uint8_t **bufs = calloc(N, sizeof(*bufs));
        struct store *s = NULL;
        char dir[512];

        assert_non_null(w);
        assert_non_null(bufs);
        testutil_tmpdir(dir, sizeof(dir));
        snprintf(dst, sizeof(dst), "%s/data.mdb", dir);
        testutil_copy_file(src, dst);
        store_policy_default(&pol);
        pol.enforce = 1;
        memset(&opts, 0, sizeof(opts));
        opts.policy = &pol;
        opts.map_size = (size_t)st.st_size + (size_t)run * 96 * 1024;
        opts.max_batch = N;
        assert_int_equal(store_open(dir, &opts, &s), 0);
        for (int i = 0; i < N; i++) {
            struct tobs o;
            int k = i % PER_WEEK;
            size_t n;

            /* Weekly from 2024-01-08 (a Monday), in the organisation's
             * time and the observers' certification. */
            tobs_make(&o, coach[k / 2], rep[k / 2], 1704708000LL + (i / PER_WEEK) * WEEK_S);
            n = coachq__v1__observation__get_packed_size(&o.t.o);
            bufs[i] = malloc(n);
            assert_non_null(bufs[i]);
            coachq__v1__observation__pack(&o.t.o, bufs[i]);
            w[i].obs = bufs[i];
            w[i].obs_len = n;
            w[i].observer_id = observer[k % 2];
            w[i].received_at_ms = testutil_now_ms();
        }
        for (int i = 0; i < N; i++) {
            assert_int_equal(store_submit(s, &w[i]), 0);
        }
        store_drain(s);
        while (store_completed_take(s) != NULL) {
        }
        for (int i = 0; i < N; i++) {
            if (w[i].rc != 0) {
                fail_msg("run %d record %d: rc %d (%s)", run, i, w[i].rc, w[i].fault.message);
            }
            assert_int_equal(w[i].result, STORE_STORED);
            free(bufs[i]);
        }
        assert_false(store_failed(s));
        store_get_stats(s, &ss);
        assert_int_equal(ss.records_stored, N);
        assert_int_equal(agg_verify(s, 0, NULL, NULL, &r), 0);
        assert_int_equal(r.counted, N);
        assert_int_equal(r.differences, 0);
        testutil_store_close_drained(s);
        testutil_rmrf(dir);
        free(w);
        free(bufs);
    }
}

/* ---- Schema 6: records keyed by sequence number ------------------------- */

/* Every audit line as `coachqd audit` shows its fields, one per line. */
struct audit_text {
    char buf[8192];
    size_t len;
    size_t refs; /* entries that name a record */
};

static int audit_text_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_text *a = arg;
    int n = snprintf(a->buf + a->len, sizeof(a->buf) - a->len, "%llu %lld %s %s %s %s %s\n",
                     (unsigned long long)e->seq, (long long)e->at_ms, e->actor, e->action,
                     e->subject, e->detail, e->origin);

    assert_true(n > 0 && (size_t)n < sizeof(a->buf) - a->len);
    a->len += (size_t)n;
    a->refs += e->record_seq != 0;
    return 0;
}

static int audit_text_txn(struct store_txn *t, void *arg)
{
    return audit_list(t, 0, audit_text_cb, arg);
}

/* Submits o as observer and returns the result of a request that must
 * succeed (STORE_STORED or STORE_DUPLICATE). */
static enum store_result resubmit(struct store *s, const char *observer,
                                  const Coachq__V1__Observation *o)
{
    struct store_write w;

    submit_wait_one(s, observer, o, &w);
    assert_int_equal(w.rc, 0);
    return w.result;
}

/* The packed StoredObservation that store_get() reads for id. */
static size_t packed_record(struct store *s, const uint8_t *id, uint8_t *buf, size_t cap)
{
    Coachq__V1__StoredObservation *r = NULL;
    size_t n;

    assert_int_equal(store_get(s, id, &r), 0);
    n = coachq__v1__stored_observation__get_packed_size(r);
    assert_true(n <= cap);
    coachq__v1__stored_observation__pack(r, buf);
    coachq__v1__stored_observation__free_unpacked(r, NULL);
    return n;
}

/* Turns the closed store in dir into the layout of schema 5, with raw LMDB
 * puts: every record under its id in the obs database (no obs_seq, no
 * obs_ids), and the audit entry of each stored observation with its text
 * copied in, as the schema 5 writer wrote it. Returns the records moved. */
static size_t make_schema5_layout(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_dbi meta, seqs, ids, obs, audit;
    MDB_val k, v;
    uint8_t ver[4];
    uint8_t keys[32][8];
    uint8_t *vals[32];
    size_t lens[32];
    size_t nrec = 0, naudit = 0;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs_seq", 0, &seqs), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs_ids", 0, &ids), 0);
    assert_int_equal(mdb_dbi_open(txn, "audit", 0, &audit), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs", 0, &obs), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(txn, "obs", MDB_CREATE, &obs), 0);

    assert_int_equal(mdb_cursor_open(txn, seqs, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Coachq__V1__StoredObservation *r =
            coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
        MDB_val ik;

        assert_non_null(r);
        assert_int_equal(k.mv_size, 8);
        assert_int_equal(keys_get_be64(k.mv_data), r->seq);
        ik.mv_data = r->observation->id.data;
        ik.mv_size = 16;
        assert_int_equal(mdb_put(txn, obs, &ik, &v, MDB_NOOVERWRITE), 0);
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        nrec++;
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);

    /* The audit entries that name a record get the text schema 5 copied. */
    assert_int_equal(mdb_cursor_open(txn, audit, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Coachq__V1__AuditEntry *e = coachq__v1__audit_entry__unpack(NULL, v.mv_size, v.mv_data);
        Coachq__V1__AuditEntry old = COACHQ__V1__AUDIT_ENTRY__INIT;
        Coachq__V1__StoredObservation *r;
        const Coachq__V1__Observation *o;
        char subject[40], detail[400];
        uint8_t sk[8];
        MDB_val rk, rv;

        assert_non_null(e);
        if (e->record_seq == 0) {
            coachq__v1__audit_entry__free_unpacked(e, NULL);
            continue;
        }
        /* The new form copies nothing of the record. */
        assert_string_equal(e->actor, "");
        assert_string_equal(e->detail, "");
        keys_put_be64(sk, e->record_seq);
        rk.mv_data = sk;
        rk.mv_size = 8;
        assert_int_equal(mdb_get(txn, seqs, &rk, &rv), 0);
        r = coachq__v1__stored_observation__unpack(NULL, rv.mv_size, rv.mv_data);
        assert_non_null(r);
        o = r->observation;
        old.seq = e->seq;
        old.at_ms = e->at_ms;
        old.actor = r->observer_id;
        old.action = o->calibration_ref.len == 16 ? "calibrate"
                     : r->version > 1             ? "amend"
                                                  : "submit";
        uuid_format(o->id.data, subject);
        old.subject = subject;
        snprintf(detail, sizeof(detail), "seq=%llu version=%u rubric=%s@%u coach=%s coachee=%s",
                 (unsigned long long)r->seq, (unsigned)r->version, o->rubric_id,
                 (unsigned)o->rubric_version, o->coach_id, o->coachee_id);
        old.detail = detail;
        old.origin = e->origin;
        assert_true(naudit < 32);
        memcpy(keys[naudit], k.mv_data, 8);
        lens[naudit] = coachq__v1__audit_entry__get_packed_size(&old);
        vals[naudit] = malloc(lens[naudit]);
        assert_non_null(vals[naudit]);
        coachq__v1__audit_entry__pack(&old, vals[naudit]);
        naudit++;
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        coachq__v1__audit_entry__free_unpacked(e, NULL);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_true(naudit > 0);
    for (size_t i = 0; i < naudit; i++) {
        k.mv_data = keys[i];
        k.mv_size = 8;
        v.mv_data = vals[i];
        v.mv_size = lens[i];
        assert_int_equal(mdb_put(txn, audit, &k, &v, 0), 0);
        free(vals[i]);
    }

    assert_int_equal(mdb_drop(txn, seqs, 1), 0);
    assert_int_equal(mdb_drop(txn, ids, 1), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    keys_put_be32(ver, 5);
    v.mv_data = ver;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    return nrec;
}

/* The number of keys in the named database of the closed store in dir, or
 * -1 if there is no such database. */
static long db_entries(const char *dir, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    long n = -1;

    testutil_lmdb_begin(dir, MDB_RDONLY, &env, &txn);
    if (mdb_dbi_open(txn, name, 0, &dbi) == 0) {
        assert_int_equal(mdb_stat(txn, dbi, &st), 0);
        n = (long)st.ms_entries;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

/* A store whose records are keyed by id (schema 5) opens as schema 6: its
 * records move to sequence order with an id index, and every record, list,
 * audit line and aggregate reads as before; verify passes, and opening
 * again changes nothing. */
static void test_schema6_rekey(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct audit_text *before = calloc(1, sizeof(*before));
    struct audit_text *after = calloc(1, sizeof(*after));
    static char out1[16384], out2[16384];
    struct tobs a, b, a2, c, d;
    const uint8_t *ids[4];
    uint8_t rec1[4][2048], rec2[2048];
    size_t len1[4];
    struct store_page page;
    struct store_query q;

    assert_non_null(before);
    assert_non_null(after);
    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.cara", "rep.lou", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
    amended(&a2, "rep.lou");
    a2.t.o.amends.data = a.t.id;
    a2.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &a2.t.o), 0);
    /* carol double-codes bob's session. */
    tobs_make(&c, "flm.cara", "rep.lou", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "carol", &c.t.o), 0);
    ids[0] = a.t.id;
    ids[1] = b.t.id;
    ids[2] = a2.t.id;
    ids[3] = c.t.id;
    for (int i = 0; i < 4; i++) {
        len1[i] = packed_record(f->s, ids[i], rec1[i], sizeof(rec1[i]));
    }
    assert_int_equal(store_view(f->s, audit_text_txn, before), 0);
    assert_int_equal(before->refs, 4);
    assert_non_null(strstr(before->buf, " alice amend "));
    assert_non_null(strstr(before->buf, " version=2 rubric=" RUBRIC "@"));
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_coachqd(out1, sizeof(out1), 0, "audit", "--data", f->dir, NULL);
    assert_int_equal(db_entries(f->dir, "obs_seq"), 4);
    assert_int_equal(db_entries(f->dir, "obs_ids"), 4);

    assert_int_equal(make_schema5_layout(f->dir), 4);
    assert_int_equal(db_entries(f->dir, "obs"), 4);
    assert_int_equal(db_entries(f->dir, "obs_seq"), -1);

    /* Opening migrates; the old database is gone. */
    f->s = testutil_store_open_enforced(f->dir);
    for (int i = 0; i < 4; i++) {
        size_t n = packed_record(f->s, ids[i], rec2, sizeof(rec2));

        assert_int_equal(n, len1[i]);
        assert_memory_equal(rec2, rec1[i], n);
    }
    assert_int_equal(store_view(f->s, audit_text_txn, after), 0);
    assert_int_equal(after->refs, 0); /* the old entries keep their text */
    assert_int_equal(after->len, before->len);
    assert_string_equal(after->buf, before->buf);
    memset(&q, 0, sizeof(q));
    q.by = STORE_BY_COACH;
    q.person_id = "flm.cara";
    q.since = INT64_MIN;
    q.until = INT64_MAX;
    q.limit = 10;
    assert_int_equal(store_list(f->s, &q, &page), 0);
    /* bob's, carol's and alice's amendment; not the version it replaced. */
    assert_int_equal(page.n, 3);
    for (size_t i = 0; i < page.n; i++) {
        assert_memory_not_equal(page.items[i]->observation->id.data, a.t.id, 16);
    }
    store_page_free(&page);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.observations, 4);
    assert_int_equal(r.differences, 0);
    /* A resubmission of a moved record is still a duplicate, and a new
     * record goes after the moved ones. */
    assert_int_equal(resubmit(f->s, "bob", &b.t.o), STORE_DUPLICATE);
    tobs_make(&d, "flm.cara", "rep.ida", T0 + 2 * WEEK_S);
    assert_int_equal(submit(f->s, "dave", &d.t.o), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    assert_int_equal(db_entries(f->dir, "obs"), -1);
    assert_int_equal(db_entries(f->dir, "obs_seq"), 5);
    assert_int_equal(db_entries(f->dir, "obs_ids"), 5);

    /* The same lines from `coachqd audit`, plus dave's, and verify passes. */
    testutil_coachqd(out2, sizeof(out2), 0, "audit", "--data", f->dir, NULL);
    assert_true(strlen(out2) > strlen(out1));
    assert_memory_equal(out2, out1, strlen(out1));
    assert_non_null(strstr(out2 + strlen(out1), "  dave  submit  "));
    testutil_coachqd(out2, sizeof(out2), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out2, "observations read: 5\n"));
    assert_non_null(strstr(out2, "differences: 0\n"));

    /* Migrating again (from schema 4, which also rebuilds the aggregates)
     * finds nothing to move. */
    make_schema(f->dir, 4);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.observations, 5);
    assert_int_equal(r.differences, 0);
    free(before);
    free(after);
}

/* ---- coachqd verify ---------------------------------------------------- */

static void test_coachqd_verify(void **state)
{
    struct testutil_seeded *f = *state;
    struct tamper tp;
    char out[8192];

    seed_two(f);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "observations read: 2\n"));
    assert_non_null(strstr(out, "counted: 2\n"));
    assert_non_null(strstr(out, "aggregate values: 18\n"));
    assert_non_null(strstr(out, "differences: 0\n"));

    f->s = testutil_store_open_enforced(f->dir);
    tp.monday = MON0;
    tp.observations = 3;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "differences: 1\n"));
    assert_non_null(strstr(out, "difference: coach/flm.cara/coaching-conversation/2025-W10: "
                                "observations 3, rebuilt 1"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "repaired"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "differences: 0\n"));
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "verify.repair"));
    /* Usage errors. */
    testutil_coachqd(out, sizeof(out), 2, "verify", "extra", "--data", f->dir, NULL);
    testutil_coachqd(out, sizeof(out), 2, "verify", "--repair=yes", "--data", f->dir, NULL);
    testutil_coachqd(out, sizeof(out), 2, "verify", "--fix", "--data", f->dir, NULL);
    /* No store there. */
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", "/nonexistent/coachq", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_repair, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_schema_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_schema3_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_flush_grows_map, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_schema6_rekey, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_coachqd_verify, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
