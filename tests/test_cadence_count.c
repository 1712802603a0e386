/* Tests of the coaching days' counts (store/cadence.h, database
 * cadence_days): after every kind of change that moves a session (a
 * correction of its day, rep or coach, a reporting line, erasure,
 * retention), cadence_pair_days() reading the counts gives what the walk
 * of the rep index (cadence_pair_days_walk(), the reference) gives, and
 * coachqd verify's comparison (cadence_verify()) finds no difference; a
 * store of schema 10 opened gets them built and says schema 11. */
#include <errno.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "cadence.h"
#include "erase.h"
#include "keys.h"
#include "people.h"
#include "retention.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "zone.h"

/* Days of the window the pairs are read over: 2024-03-01 to 2024-06-29. */
#define FROM 19783
#define UNTIL 19903
#define NOW_MS ((int64_t)19904 * 86400 * 1000)
#define NCOACH 3
#define NREP 4
#define MAXDAYS 256

static const char *const coaches[NCOACH] = {"ca", "cb", "cc"};
static const char *const reps[NREP] = {"r0", "r1", "r2", "r3"};
/* A zone behind UTC, one far ahead (UTC+14) and one a half hour off. */
static const char *const zones[NCOACH] = {"America/Los_Angeles", "Pacific/Kiritimati",
                                          "Asia/Kolkata"};

struct fx {
    char dir[512];
    struct store *s;
};

static int org_txn(struct store_txn *t, void *arg)
{
    int rc = testutil_put_rubric(t, "", 0);

    (void)arg;
    if (rc == 0) {
        rc = testutil_put_person(t, "obs", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs", 18000, 30000, "obs");
    }
    for (int i = 0; i < NCOACH && rc == 0; i++) {
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        Coachq__V1__Role role = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER;

        p.id = (char *)coaches[i];
        p.name = p.id;
        p.time_zone = (char *)zones[i];
        p.roles = &role;
        p.n_roles = 1;
        rc = people_put(t, &p, NULL);
    }
    /* Every rep starts with ca, except r3 with cb. */
    for (int i = 0; i < NREP && rc == 0; i++) {
        rc = testutil_put_person(t, reps[i], NULL, 0, NULL);
        if (rc == 0) {
            rc = people_line_put(t, reps[i], i == 3 ? "cb" : "ca", 19000, NULL);
        }
    }
    return rc;
}

/* The store opens with the organisation's rules on
 * (testutil_store_open_enforced()): an amendment is one only when the rules
 * recognise it, and a session's coach must be the rep's manager on its day. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(store_exec(f->s, org_txn, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f->s != NULL) {
        store_close(f->s);
    }
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* Submits a session of coach with coachee at `at`; amends (may be NULL)
 * the original it corrects. Its id into id (may be NULL). */
static int submit_try(struct fx *f, const char *coach, const char *coachee, int64_t at,
                      const uint8_t *amends, uint8_t id[16])
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, coachee, at);
    for (size_t i = 0; i < 10; i++) {
        o.r[i].score = 2;
    }
    if (amends != NULL) {
        o.o.amends.data = (uint8_t *)amends;
        o.o.amends.len = 16;
    }
    if (id != NULL) {
        memcpy(id, o.id, 16);
    }
    return testutil_store_submit(f->s, &o.o, "obs", NOW_MS);
}

static void submit(struct fx *f, const char *coach, const char *coachee, int64_t at,
                   const uint8_t *amends, uint8_t id[16])
{
    assert_int_equal(submit_try(f, coach, coachee, at, amends, id), 0);
}

struct compare {
    const char *coach, *coachee;
    struct cadence_day a[MAXDAYS], b[MAXDAYS];
    size_t na, nb;
};

static int compare_txn(struct store_txn *t, void *arg)
{
    struct compare *c = arg;
    int rc = cadence_pair_days(t, c->coach, c->coachee, FROM, UNTIL, c->a, MAXDAYS, &c->na, NULL);

    if (rc == 0) {
        rc = cadence_pair_days_walk(t, c->coach, c->coachee, FROM, UNTIL, c->b, MAXDAYS, &c->nb,
                                    NULL);
    }
    if (rc == 0) {
        /* The days as a bitmap (My managers' cadence) are the list's, in
         * every window of the range. */
        testutil_cadence_bits_check(t, c->coach, c->coachee, FROM, UNTIL);
    }
    return rc;
}

/* The pair's days from the counts, checked against the walk; returns
 * their number. */
static size_t pair_days(struct fx *f, const char *coach, const char *coachee,
                        struct cadence_day out[MAXDAYS])
{
    struct compare *c = calloc(1, sizeof(*c));
    size_t n;

    assert_non_null(c);
    c->coach = coach;
    c->coachee = coachee;
    assert_int_equal(store_view(f->s, compare_txn, c), 0);
    if (c->na != c->nb) {
        fail_msg("%s/%s: %zu days from the counts, %zu from the walk", coach, coachee, c->na,
                 c->nb);
    }
    for (size_t i = 0; i < c->na; i++) {
        assert_int_equal(c->a[i].day, c->b[i].day);
        assert_int_equal(c->a[i].observed, c->b[i].observed);
        assert_int_equal(c->a[i].held, c->b[i].held);
    }
    n = c->na;
    if (out != NULL) {
        memcpy(out, c->a, n * sizeof(out[0]));
    }
    free(c);
    return n;
}

/* Every pair of the organisation matches the walk, and verify finds the
 * stored counts equal to a count from the records. Returns the days of
 * every pair together. */
static size_t check_all(struct fx *f)
{
    struct cadence_verify_result r;
    size_t total = 0;

    for (int i = 0; i < NCOACH; i++) {
        for (int j = 0; j < NREP; j++) {
            total += pair_days(f, coaches[i], reps[j], NULL);
        }
    }
    assert_int_equal(cadence_verify(f->s, 0, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.stored, r.expected);
    return total;
}

static int64_t at_of(int32_t day, int hour, int minute)
{
    return (int64_t)day * 86400 + hour * 3600 + minute * 60;
}

static void count_day(int32_t day, void *arg)
{
    (void)day;
    ++*(size_t *)arg;
}

struct bad_ids {
    size_t called;
    int rc[4];
};

static int bad_ids_txn(struct store_txn *t, void *arg)
{
    struct bad_ids *b = arg;
    char long_id[66];

    memset(long_id, 'x', 65);
    long_id[65] = '\0';
    b->rc[0] = cadence_pair_counted(t, "ca", long_id, FROM, UNTIL, count_day, &b->called);
    b->rc[1] = cadence_pair_counted(t, long_id, "r0", FROM, UNTIL, count_day, &b->called);
    b->rc[2] = cadence_pair_counted(t, "", "r0", FROM, UNTIL, count_day, &b->called);
    b->rc[3] = cadence_pair_counted(t, "ca", NULL, FROM, UNTIL, count_day, &b->called);
    return 0;
}

/* The counts' reader refuses an id that cannot be in a key (empty, NULL
 * or over 64 bytes) instead of copying it into one. */
static void test_bad_ids_refused(void **state)
{
    struct fx *f = *state;
    struct bad_ids b = {0};

    submit(f, "ca", "r0", at_of(FROM + 1, 10, 0), NULL, NULL);
    assert_int_equal(store_view(f->s, bad_ids_txn, &b), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(b.rc[i], -EINVAL);
    }
    assert_int_equal(b.called, 0);
}

/* A calibration attempt is never a coaching day, on the counts' side as
 * on the walk's: the store here takes one without the rules (as a store
 * written before a reference was retired holds it), and only the
 * observed session beside it counts. */
static void test_calibration_not_counted(void **state)
{
    struct fx *f = *state;
    struct testutil_obs o;
    struct cadence_day d[MAXDAYS];
    struct store_policy pol;
    struct store_opts opts;
    uint8_t ref[16];

    store_close(f->s);
    store_policy_default(&pol);
    pol.enforce = 0;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
    memset(ref, 0x42, sizeof(ref));
    testutil_obs_make(&o, "ca", "r0", at_of(19800, 10, 0));
    o.o.calibration_ref.data = ref;
    o.o.calibration_ref.len = sizeof(ref);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs", NOW_MS), 0);
    assert_int_equal(pair_days(f, "ca", "r0", d), 0);
    submit(f, "ca", "r0", at_of(19801, 10, 0), NULL, NULL);
    assert_int_equal(pair_days(f, "ca", "r0", d), 1);
    assert_int_equal(d[0].day, 19801);
    check_all(f);
}

/* Two sessions of one day count once; the day stays while one is left. */
static void test_two_sessions_one_day(void **state)
{
    struct fx *f = *state;
    struct cadence_day d[MAXDAYS];
    uint8_t id1[16], id2[16];

    submit(f, "ca", "r0", at_of(19800, 9, 0), NULL, id1);
    submit(f, "ca", "r0", at_of(19800, 14, 0), NULL, id2);
    assert_int_equal(pair_days(f, "ca", "r0", d), 1);
    /* ca is in Los Angeles: 09:00 and 14:00 UTC are 02:00 and 07:00 of
     * the same local day (UTC-7 in April). */
    assert_int_equal(d[0].day, 19800);
    assert_true(d[0].observed);
    /* The second session moves to another day: both days count; then the
     * first moves onto that day too, and the first day goes. */
    submit(f, "ca", "r0", at_of(19810, 18, 0), id2, NULL);
    assert_int_equal(pair_days(f, "ca", "r0", d), 2);
    submit(f, "ca", "r0", at_of(19810, 19, 0), id1, NULL);
    assert_int_equal(pair_days(f, "ca", "r0", d), 1);
    assert_int_equal(d[0].day, 19810);
    check_all(f);
}

/* A correction that changes the rep takes the day from the old rep and
 * gives it to the new one; one that changes the day across a local
 * midnight moves it in the coach's zone. */
static void test_correction_moves_rep_and_day(void **state)
{
    struct fx *f = *state;
    struct cadence_day d[MAXDAYS];
    uint8_t id[16];

    submit(f, "ca", "r0", at_of(19820, 12, 0), NULL, id);
    assert_int_equal(pair_days(f, "ca", "r0", NULL), 1);
    submit(f, "ca", "r1", at_of(19820, 12, 0), id, NULL);
    assert_int_equal(pair_days(f, "ca", "r0", NULL), 0);
    assert_int_equal(pair_days(f, "ca", "r1", d), 1);
    /* 03:00 UTC on 19821 is still 19820 in Los Angeles. */
    submit(f, "ca", "r1", at_of(19821, 3, 0), id, NULL);
    assert_int_equal(pair_days(f, "ca", "r1", d), 1);
    assert_int_equal(d[0].day, 19820);
    submit(f, "ca", "r1", at_of(19821, 9, 0), id, NULL);
    assert_int_equal(pair_days(f, "ca", "r1", d), 1);
    assert_int_equal(d[0].day, 19821);
    check_all(f);
}

static int move_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    /* r0 moves to cb (Kiritimati, UTC+14) on 19830 and to cc (Kolkata) on
     * 19840: the days around each move are counted in the zone of the
     * manager the rep reported to on that local day. */
    int rc = people_line_put(t, "r0", "cb", 19830, NULL);

    return rc == 0 ? people_line_put(t, "r0", "cc", 19840, NULL) : rc;
}

/* A reporting line that changes in the window, after the sessions. */
static void test_line_change_mid_window(void **state)
{
    struct fx *f = *state;

    for (int32_t day = 19825; day < 19845; day++) {
        submit(f, "ca", "r0", at_of(day, 11, 30), NULL, NULL);
        submit(f, "ca", "r0", at_of(day, 23, 10), NULL, NULL);
    }
    assert_int_equal(pair_days(f, "ca", "r0", NULL), 20);
    assert_int_equal(store_exec(f->s, move_txn, NULL), 0);
    /* ca keeps 19825..19829; cb and cc have theirs (whatever the zones
     * make of the edges, as the walk does). */
    assert_int_equal(pair_days(f, "ca", "r0", NULL), 5);
    assert_true(pair_days(f, "cb", "r0", NULL) >= 9);
    assert_true(pair_days(f, "cc", "r0", NULL) >= 4);
    check_all(f);
}

static int erase_txn(struct store_txn *t, void *arg)
{
    struct erase_request r;

    memset(&r, 0, sizeof(r));
    r.id = arg;
    r.now_ms = NOW_MS;
    r.actor = "test";
    r.origin = "test";
    return erase_person_txn(t, &r);
}

/* Erasure re-keys the rep (and a coach) to pseudonyms: the counts follow. */
static void test_erasure(void **state)
{
    struct fx *f = *state;

    submit(f, "ca", "r1", at_of(19850, 10, 0), NULL, NULL);
    submit(f, "ca", "r2", at_of(19851, 10, 0), NULL, NULL);
    submit(f, "cb", "r3", at_of(19852, 10, 0), NULL, NULL);
    assert_int_equal(store_exec(f->s, erase_txn, (void *)"r1"), 0);
    assert_int_equal(pair_days(f, "ca", "r1", NULL), 0);
    assert_int_equal(pair_days(f, "ca", "r2", NULL), 1);
    assert_int_equal(store_exec(f->s, erase_txn, (void *)"cb"), 0);
    assert_int_equal(pair_days(f, "cb", "r3", NULL), 0);
    check_all(f);
}

static int retention_txn_cb(struct store_txn *t, void *arg)
{
    struct retention_request *r = arg;

    return retention_txn(t, r);
}

/* Retention deletes (or anonymises) the sessions before a day: their days
 * go from the counts. */
static void test_retention(void **state)
{
    struct fx *f = *state;
    struct retention_request r;

    for (int32_t day = 19800; day < 19810; day++) {
        submit(f, "ca", "r2", at_of(day, 16, 0), NULL, NULL);
    }
    assert_int_equal(pair_days(f, "ca", "r2", NULL), 10);
    memset(&r, 0, sizeof(r));
    r.before_day = 19804;
    r.now_ms = NOW_MS;
    r.actor = "test";
    r.origin = "test";
    r.policy = "test";
    assert_int_equal(store_exec(f->s, retention_txn_cb, &r), 0);
    assert_int_equal(pair_days(f, "ca", "r2", NULL), 6);
    r.before_day = 19806;
    r.anonymise = 1;
    assert_int_equal(store_exec(f->s, retention_txn_cb, &r), 0);
    assert_int_equal(pair_days(f, "ca", "r2", NULL), 4);
    check_all(f);
}

static int org_zone_txn(struct store_txn *t, void *arg)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role role = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER;
    char old[64], why[128];
    int rc;

    if (arg == NULL) {
        /* cz has no zone of their own: the organisation's holds. */
        p.id = (char *)"cz";
        p.name = p.id;
        p.roles = &role;
        p.n_roles = 1;
        rc = people_put(t, &p, NULL);
        return rc == 0 ? people_line_put(t, "r2", "cz", 19000, NULL) : rc;
    }
    return zone_org_set(t, arg, old, sizeof(old), why, sizeof(why));
}

/* The organisation's zone changes after the sessions: a coach without a
 * zone of their own has their sessions' days moved. */
static void test_org_zone_change(void **state)
{
    struct fx *f = *state;
    struct cadence_day d[MAXDAYS];

    assert_int_equal(store_exec(f->s, org_zone_txn, NULL), 0);
    submit(f, "cz", "r2", at_of(19870, 20, 0), NULL, NULL);
    assert_int_equal(pair_days(f, "cz", "r2", d), 1);
    assert_int_equal(d[0].day, 19870);
    /* 20:00 UTC is 05:00 the next day in Tokyo. */
    assert_int_equal(store_exec(f->s, org_zone_txn, (void *)"Asia/Tokyo"), 0);
    assert_int_equal(pair_days(f, "cz", "r2", d), 1);
    assert_int_equal(d[0].day, 19871);
    check_all(f);
}

struct line {
    const char *rep, *coach;
    int32_t day;
};

static int move_line_txn(struct store_txn *t, void *arg)
{
    const struct line *l = arg;

    return people_line_put(t, l->rep, l->coach, l->day, NULL);
}

/* Random sessions, corrections of their day, rep and coach, and line
 * changes between them: after each round every pair matches the walk. */
static void test_random(void **state)
{
    struct fx *f = *state;
    uint8_t ids[200][16];
    size_t n = 0;
    unsigned seed = 20261206;

    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 50 && n < 200; i++) {
            int32_t day = FROM + (int32_t)(rand_r(&seed) % (UNTIL - FROM));
            int64_t at = at_of(day, (int)(rand_r(&seed) % 24), (int)(rand_r(&seed) % 60));
            unsigned c0 = (unsigned)rand_r(&seed) % NCOACH;
            const char *rep = reps[rand_r(&seed) % NREP];
            const uint8_t *amends = n > 0 && rand_r(&seed) % 3 == 0 ? ids[rand_r(&seed) % n] : NULL;

            /* The rules take the session only from the rep's manager on
             * its day: the first coach they take it from. */
            for (unsigned k = 0; k < NCOACH; k++) {
                if (submit_try(f, coaches[(c0 + k) % NCOACH], rep, at, amends,
                               amends == NULL ? ids[n] : NULL) == 0) {
                    n += amends == NULL;
                    break;
                }
            }
        }
        {
            struct line l;

            l.rep = reps[rand_r(&seed) % NREP];
            l.coach = coaches[rand_r(&seed) % NCOACH];
            l.day = FROM + (int32_t)(rand_r(&seed) % (UNTIL - FROM));
            assert_int_equal(store_exec(f->s, move_line_txn, &l), 0);
        }
        assert_true(check_all(f) > 0);
    }
    /* Most sessions found a coach the rules take them from. */
    assert_true(n >= 100);
}

/* How a store is turned back before it is opened again (mutate()). */
enum old_store {
    /* Schema 10, before the counts: no database, no format key. */
    OLD_SCHEMA10,
    /* Schema 10 with the format key still there: a coachqd of schema 10
     * ran on a store a newer one had counted, and stored observations
     * without counting them (here: every count is gone). */
    OLD_SCHEMA10_STALE,
    /* Schema 11 with its format key and no counts: the build step that
     * opening a store of schema 10 runs, not run. */
    OLD_BUILD_SKIPPED,
};

/* Turns the closed store in dir back with LMDB itself, as old says: the
 * counts' database always dropped, the schema and the format's meta key
 * as they were. */
static void mutate(const char *dir, enum old_store old)
{
    static const char fkey[] = "cadence_format";
    static const char skey[] = "schema_version";
    uint8_t ver[4] = {0, 0, 0, 10};
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi, meta;
    MDB_val k, v;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    k.mv_data = (void *)skey;
    k.mv_size = sizeof(skey) - 1;
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    assert_memory_equal(v.mv_data, ((uint8_t[4]){0, 0, 0, STORE_SCHEMA_VERSION}), 4);
    assert_int_equal(mdb_dbi_open(txn, "cadence_days", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, old == OLD_BUILD_SKIPPED ? 0 : 1), 0);
    if (old != OLD_BUILD_SKIPPED) {
        v.mv_data = ver;
        v.mv_size = sizeof(ver);
        assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    }
    if (old == OLD_SCHEMA10) {
        k.mv_data = (void *)fkey;
        k.mv_size = sizeof(fkey) - 1;
        assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* The schema the closed store in dir says it has. */
static uint32_t schema_of(const char *dir)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta;
    MDB_val k, v;
    uint32_t n;

    testutil_lmdb_begin(dir, MDB_RDONLY, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    n = keys_get_be32(v.mv_data);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

static size_t migrate(struct fx *f, enum old_store old, struct cadence_verify_result *r)
{
    size_t days = 0;

    for (int32_t day = 19860; day < 19870; day++) {
        submit(f, "ca", "r0", at_of(day, 8, 0), NULL, NULL);
        submit(f, "cb", "r3", at_of(day, 20, 0), NULL, NULL);
    }
    for (int j = 0; j < NREP; j++) {
        days += pair_days(f, "ca", reps[j], NULL) + pair_days(f, "cb", reps[j], NULL);
    }
    store_close(f->s);
    mutate(f->dir, old);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(cadence_verify(f->s, 0, r), 0);
    store_close(f->s);
    /* Opened, the store says the current schema: a coachqd of schema 10
     * refuses it (store_schema_unknown) rather than store sessions
     * without counting them. */
    assert_int_equal(schema_of(f->dir), STORE_SCHEMA_VERSION);
    f->s = testutil_store_open_enforced(f->dir);
    return days;
}

/* A store of schema 10 (no database, no format) gets the counts built at
 * open: verify passes and the pages' days are those of before. */
static void test_migration(void **state)
{
    struct fx *f = *state;
    struct cadence_verify_result r;
    size_t before = migrate(f, OLD_SCHEMA10, &r);

    assert_int_equal(before, 20);
    assert_int_equal(r.differences, 0);
    assert_true(r.stored > 0);
    assert_int_equal(check_all(f), 20);
}

/* A store of schema 10 whose format key says the counts are there (a
 * newer coachqd counted them, then one of schema 10 ran) is counted again
 * all the same. */
static void test_migration_stale_format(void **state)
{
    struct fx *f = *state;
    struct cadence_verify_result r;

    migrate(f, OLD_SCHEMA10_STALE, &r);
    assert_int_equal(r.differences, 0);
    assert_true(r.stored > 0);
    assert_int_equal(check_all(f), 20);
}

/* A store of schema 11 without counts (the build step skipped): verify
 * finds every key missing, and --repair counts them. */
static void test_migration_skipped_fails_verify(void **state)
{
    struct fx *f = *state;
    struct cadence_verify_result r;

    migrate(f, OLD_BUILD_SKIPPED, &r);
    assert_int_equal(r.stored, 0);
    assert_true(r.expected > 0);
    assert_int_equal(r.differences, r.expected);
    assert_int_equal(cadence_verify(f->s, 1, &r), 0);
    assert_int_equal(cadence_verify(f->s, 0, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(check_all(f), 20);
}

/* A count that would go below 0 (only a damaged store holds one: here a
 * store whose counts were never built) is kept at 0 and logged, not
 * refused: the correction is stored, the writer goes on, verify finds
 * the damage and --repair counts again. */
static void test_count_below_zero_kept(void **state)
{
    struct fx *f = *state;
    struct cadence_verify_result r;
    uint8_t id[16];

    submit(f, "ca", "r1", at_of(19850, 8, 0), NULL, id);
    migrate(f, OLD_BUILD_SKIPPED, &r);
    assert_int_equal(r.stored, 0);
    /* The correction takes the session out of a count that is not there. */
    submit(f, "ca", "r1", at_of(19852, 8, 0), id, NULL);
    assert_false(store_failed(f->s));
    assert_int_equal(cadence_verify(f->s, 0, &r), 0);
    assert_true(r.differences > 0);
    assert_int_equal(cadence_verify(f->s, 1, &r), 0);
    check_all(f);
}

/* A range that starts and ends inside a block of counted days hands over
 * the block's days in the range and no other (cadence_pair_counted() walks
 * each block's day mask between the range's ends). */
struct range_days {
    int32_t from, until;
    int32_t day[2 * CADENCE_COUNT_DAYS];
    size_t n;
};

static void range_day(int32_t day, void *arg)
{
    struct range_days *rd = arg;

    if (rd->n < sizeof(rd->day) / sizeof(rd->day[0])) {
        rd->day[rd->n] = day;
    }
    rd->n++;
}

static int range_txn(struct store_txn *t, void *arg)
{
    struct range_days *rd = arg;

    return cadence_pair_counted(t, "ca", "r0", rd->from, rd->until, range_day, rd);
}

static void test_range_inside_block(void **state)
{
    struct fx *f = *state;
    /* 19796 is a block's first day (a multiple of 7): sessions on every
     * day of that block and of the next, at 20:00 UTC (the afternoon of
     * the same day in Los Angeles). */
    int32_t block = 19796;
    struct range_days rd;

    for (int32_t i = 0; i < 2 * CADENCE_COUNT_DAYS; i++) {
        submit(f, "ca", "r0", at_of(block + i, 20, 0), NULL, NULL);
    }
    memset(&rd, 0, sizeof(rd));
    rd.from = block + 2;
    rd.until = block + CADENCE_COUNT_DAYS + 3;
    assert_int_equal(store_view(f->s, range_txn, &rd), 0);
    assert_int_equal(rd.n, CADENCE_COUNT_DAYS + 2);
    for (size_t i = 0; i < rd.n; i++) {
        assert_int_equal(rd.day[i], rd.from + (int32_t)i);
    }
    /* One block, both ends inside it. */
    memset(&rd, 0, sizeof(rd));
    rd.from = block + 1;
    rd.until = block + 4;
    assert_int_equal(store_view(f->s, range_txn, &rd), 0);
    assert_int_equal(rd.n, 4);
    assert_int_equal(rd.day[0], block + 1);
    assert_int_equal(rd.day[3], block + 4);
    check_all(f);
}

/* A day's count is 4 bytes: a count whose low byte is 0 (256, 65536,
 * 1 << 24) is a day with sessions all the same, however the reader tests
 * the bytes. Only a value written by hand holds such counts in a test. */
struct high_counts {
    uint8_t key[256];
    size_t klen, n;
    struct range_days rd;
};

static int high_key_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct high_counts *h = arg;

    (void)val;
    (void)vlen;
    if (klen <= sizeof(h->key)) {
        memcpy(h->key, key, klen);
        h->klen = klen;
    }
    h->n++;
    return 0;
}

static int high_put_txn(struct store_txn *t, void *arg)
{
    struct high_counts *h = arg;
    uint8_t val[1 + 4 * CADENCE_COUNT_DAYS] = {1};
    int rc = store_txn_scan(t, t->s->dbi_cadence, NULL, 0, 0, high_key_cb, h);

    if (rc != 0 || h->n != 1) {
        return rc != 0 ? rc : -EPROTO;
    }
    /* Day 0 keeps its 1; days 2, 4 and 6 get 256, 65536 and 1 << 24
     * (little-endian); days 1, 3 and 5 stay 0. */
    val[1 + 0] = 1;
    val[1 + 4 * 2 + 1] = 1;
    val[1 + 4 * 4 + 2] = 1;
    val[1 + 4 * 6 + 3] = 1;
    return store_txn_put_raw(t, t->s->dbi_cadence, h->key, h->klen, val, sizeof(val), NULL);
}

static void test_count_high_bytes(void **state)
{
    struct fx *f = *state;
    int32_t block = 19796; /* a block's first day, as test_range_inside_block() */
    struct high_counts h;

    submit(f, "ca", "r0", at_of(block, 20, 0), NULL, NULL);
    memset(&h, 0, sizeof(h));
    assert_int_equal(store_exec(f->s, high_put_txn, &h), 0);
    h.rd.from = block - CADENCE_COUNT_DAYS;
    h.rd.until = block + 2 * CADENCE_COUNT_DAYS;
    assert_int_equal(store_view(f->s, range_txn, &h.rd), 0);
    assert_int_equal(h.rd.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(h.rd.day[i], block + 2 * (int32_t)i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_sessions_one_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_ids_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_not_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_correction_moves_rep_and_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_change_mid_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erasure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_org_zone_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_stale_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_skipped_fails_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_below_zero_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_inside_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_high_bytes, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
