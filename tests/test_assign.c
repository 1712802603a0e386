/*
 * test_assign: the observation programme's coverage plans and assignments
 * (store/assign.h, admin/admin_assign.c). The draw is reproducible from its
 * seed byte for byte and another seed differs; every line gets its
 * proportional share of a sample; no exclusion, load cap, disabled or
 * uncertified observer is ever broken over many seeds; fulfilment happens in
 * the record's transaction and refuses a forged, foreign, closed or expired
 * assignment naming observation.assignment_id (in a bare store and over
 * real TLS); a store of schema 9 opens at the current schema and `coachqd verify`
 * passes.
 *
 * `test_assign --dump SEEDS` prints, for tests/assign_reference.py, how
 * often each observer was drawn for each manager over SEEDS seeds, with
 * the eligible observers of each manager: SciPy's chi-square test then
 * checks that the matching is uniform.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <lmdb.h>

#include "assign.h"
#include "client.h"
#include "dash.h"
#include "dash_builder.h"
#include "erase.h"
#include "error.h"
#include "keys.h"
#include "obs.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "uuid.h"
#include "zone.h"

/* A day in October 2024; the draw's window is that month. */
#define DAY 20000
#define NOW_MS ((int64_t)DAY * 86400000 + 3600000)

static const char *const line_a[] = {"flm.a1", "flm.a2", "flm.a3", "flm.a4"};
static const char *const line_b[] = {"flm.b1", "flm.b2"};
static const char *const line_c[] = {"flm.c1", "flm.c2", "flm.c3", "flm.c4", "flm.c5", "flm.c6"};
/* Certified, enabled observers. obs.a reports to slm.a (its own line);
 * dir.1 is above slm.a (line a reports to it); slm.c observes too. */
static const char *const observers[] = {"dir.1", "obs.1", "obs.2", "obs.3", "obs.a", "slm.c"};

static int add_role(struct store_txn *t, const char *id, Coachq__V1__Role role)
{
    Coachq__V1__Person *p = NULL;
    Coachq__V1__Role roles[4];
    int rc = people_get(t, id, &p);

    if (rc < 0) {
        return rc;
    }
    for (size_t i = 0; i < p->n_roles && i < 3; i++) {
        roles[i] = p->roles[i];
    }
    roles[p->n_roles < 3 ? p->n_roles : 3] = role;
    {
        Coachq__V1__Role *old = p->roles;
        size_t n = p->n_roles;

        p->roles = roles;
        p->n_roles = (n < 3 ? n : 3) + 1;
        rc = people_put(t, p, NULL);
        p->roles = old;
        p->n_roles = n;
    }
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

static int enrol(struct store_txn *t, const char *person)
{
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;

    e.programme_id = "p1";
    e.cohort_id = "c1";
    e.cohort_start_day = DAY - 100;
    e.person_id = (char *)person;
    return people_enrolment_put(t, &e, NULL);
}

static int build_org(struct store_txn *t, void *arg)
{
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Person *p = NULL;
    int rc = 0;

    (void)arg;
    rc |= testutil_put_rubric(t, "", 0);
    rc |= testutil_put_person(t, "dir.1", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc |=
        testutil_put_person(t, "slm.a", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, "dir.1");
    rc |= testutil_put_person(t, "slm.b", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    rc |= testutil_put_person(t, "slm.c", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    rc |= add_role(t, "slm.c", COACHQ__V1__ROLE__ROLE_OBSERVER);
    prog.id = "p1";
    prog.name = "Programme one";
    rc |= people_programme_put(t, &prog, NULL);
    for (size_t i = 0; i < 4; i++) {
        rc |= testutil_put_person(t, line_a[i], NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                  "slm.a");
        rc |= enrol(t, line_a[i]);
    }
    for (size_t i = 0; i < 2; i++) {
        rc |= testutil_put_person(t, line_b[i], NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                  "slm.b");
        rc |= enrol(t, line_b[i]);
    }
    for (size_t i = 0; i < 6; i++) {
        rc |= testutil_put_person(t, line_c[i], NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                  "slm.c");
        rc |= enrol(t, line_c[i]);
    }
    rc |= testutil_put_person(t, "rep.1", NULL, 0, "flm.a1");
    rc |= testutil_put_person(t, "obs.1", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc |= testutil_put_person(t, "obs.2", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc |= testutil_put_person(t, "obs.3", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc |= testutil_put_person(t, "obs.a", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, "slm.a");
    rc |= testutil_put_person(t, "obs.nocert", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    rc |= testutil_put_person(t, "obs.off", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    for (size_t i = 0; i < sizeof(observers) / sizeof(observers[0]); i++) {
        rc |= testutil_put_cert(t, observers[i], 18000, 30000, "test");
    }
    rc |= testutil_put_cert(t, "obs.off", 18000, 30000, "test");
    if (rc == 0) {
        rc = people_get(t, "obs.off", &p);
    }
    if (rc == 0) {
        p->disabled = 1;
        rc = people_put(t, p, NULL);
        coachq__v1__person__free_unpacked(p, NULL);
    }
    return rc;
}

struct plan_args {
    const char *scope;
    int line, reports, last;
    uint32_t cap, per;
};

static int put_plan(struct store_txn *t, void *arg)
{
    const struct plan_args *pa = arg;
    Coachq__V1__CoveragePlan p = COACHQ__V1__COVERAGE_PLAN__INIT;

    p.scope = (char *)pa->scope;
    p.rubric_id = "coaching-conversation";
    p.per_period = pa->per > 0 ? pa->per : 1;
    p.period = COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH;
    p.off_own_line = pa->line;
    p.off_own_reports = pa->reports;
    p.off_last_observed = pa->last;
    p.load_cap = pa->cap;
    p.set_by = "test";
    return assign_plan_put(t, &p, NULL);
}

struct draw_call {
    struct assign_draw_req req;
    struct assign_draw_result res;
    int keep;
    int rc;
};

static int draw_txn(struct store_txn *t, void *arg)
{
    struct draw_call *dc = arg;

    assign_draw_result_clear(&dc->res);
    dc->rc = assign_draw(t, &dc->req, &dc->res);
    if (dc->rc != 0) {
        return dc->rc;
    }
    return dc->keep ? 0 : -ECANCELED;
}

/* Draws plan scope with seed (written when keep); fails the test unless
 * the draw succeeds. dc->res is the caller's to clear. */
static void draw(struct store *s, const char *scope, uint64_t seed, uint32_t sample, int keep,
                 struct draw_call *dc)
{
    int rc;

    memset(dc, 0, sizeof(*dc));
    dc->req.scope = scope;
    dc->req.seed = seed;
    dc->req.period_day = DAY;
    dc->req.sample = sample;
    dc->req.now_ms = NOW_MS;
    dc->req.actor = "test";
    dc->keep = keep;
    rc = store_exec(s, draw_txn, dc);
    assert_int_equal(dc->rc, 0);
    assert_int_equal(rc, keep ? 0 : -ECANCELED);
}

/* The draw's assignments packed one after another, into buf. */
static size_t draw_bytes(const struct assign_draw_result *r, uint8_t *buf, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n; i++) {
        size_t len = coachq__v1__assignment__get_packed_size(r->asg[i]);

        assert_true(n + len <= cap);
        coachq__v1__assignment__pack(r->asg[i], buf + n);
        n += len;
    }
    return n;
}

static struct testutil_store_fx *org_with_plan(const struct plan_args *pa)
{
    struct testutil_store_fx *f = testutil_store_fx_new(build_org, NULL);

    assert_int_equal(store_exec(f->s, put_plan, (void *)pa), 0);
    return f;
}

static int in_list(const char *id, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(l[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- Reproducible from the seed ---------------------------------------- */

static void test_same_seed_same_draw(void **state)
{
    struct plan_args pa = {"programme:p1", 1, 1, 0, 0, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    static uint8_t a[1 << 16], b[1 << 16], c[1 << 16];
    struct draw_call d1, d2, d3, d4;
    size_t na, nb, nc;

    (void)state;
    draw(f->s, "programme:p1", 12345, 0, 0, &d1);
    draw(f->s, "programme:p1", 12345, 0, 0, &d2);
    draw(f->s, "programme:p1", 12346, 0, 0, &d3);
    assert_int_equal(d1.res.n, 24); /* 12 managers, 2 each */
    na = draw_bytes(&d1.res, a, sizeof(a));
    nb = draw_bytes(&d2.res, b, sizeof(b));
    nc = draw_bytes(&d3.res, c, sizeof(c));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assert_memory_equal(d1.res.draw.id.data, d2.res.draw.id.data, 16);
    assert_true(na != nc || memcmp(a, c, na) != 0);
    /* The dry run is the draw that is then written, byte for byte. */
    draw(f->s, "programme:p1", 12345, 0, 1, &d4);
    nb = draw_bytes(&d4.res, b, sizeof(b));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* Every manager now holds their two: a second draw adds nothing. */
    assign_draw_result_clear(&d2.res);
    draw(f->s, "programme:p1", 12345, 0, 1, &d2);
    assert_int_equal(d2.res.n, 0);
    assert_int_equal(d2.res.n_unfilled, 0);
    assign_draw_result_clear(&d1.res);
    assign_draw_result_clear(&d2.res);
    assign_draw_result_clear(&d3.res);
    assign_draw_result_clear(&d4.res);
    testutil_store_fx_free(f);
}

/* ---- Balance across strata ------------------------------------------------ */

static void test_strata_balance(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    /* 12 managers: lines of 4, 2 and 6. A sample of 5 gives each line
     * 5*4/12 = 1.67, 5*2/12 = 0.83 and 5*6/12 = 2.5: 1 or 2, 0 or 1, 2 or
     * 3, and 5 in all. */
    static const uint32_t samples[] = {1, 5, 7, 11};
    unsigned extra_c = 0;

    (void)state;
    for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
        for (uint64_t seed = 1; seed <= 150; seed++) {
            struct draw_call d;
            size_t per[3] = {0, 0, 0};
            double share[3] = {4, 2, 6};

            draw(f->s, "programme:p1", seed, samples[k], 0, &d);
            assert_int_equal(d.res.n, samples[k]);
            for (size_t i = 0; i < d.res.n; i++) {
                const char *st = d.res.asg[i]->stratum;

                assert_int_equal(strlen(st), 5);
                per[st[4] - 'a']++;
                for (size_t j = 0; j < i; j++) {
                    assert_string_not_equal(d.res.asg[j]->manager_id, d.res.asg[i]->manager_id);
                }
            }
            for (size_t s = 0; s < 3; s++) {
                double want = samples[k] * share[s] / 12.0;

                double diff = (double)per[s] - want;

                /* Within 1 of the proportional share: its floor or ceiling. */
                assert_true(diff > -1.0 && diff < 1.0);
            }
            if (samples[k] == 5 && per[2] == 3) {
                extra_c++;
            }
            assign_draw_result_clear(&d.res);
        }
    }
    /* The largest remainder (line c's 0.5 against a's 0.67 and b's 0.83)
     * never wins the leftover unit when both others are larger. */
    assert_int_equal(extra_c, 0);
    testutil_store_fx_free(f);
}

/* ---- Exclusions, cap, disabled and uncertified ---------------------------- */

/* Each call a session an hour after the previous one, so that which
 * observation is a manager's last never depends on ids. */
static int submit_last(struct testutil_store_fx *f, const char *coach, const char *observer)
{
    static int64_t hour;
    struct testutil_obs o;
    int64_t at = (int64_t)(DAY - 20) * 86400 + 3600 * (++hour % 20);

    testutil_obs_make(&o, coach, "rep.1", at);
    return testutil_store_submit(f->s, &o.o, observer, at * 1000);
}

static void check_exclusions(const struct plan_args *pa, size_t expect_unfilled_max)
{
    struct testutil_store_fx *f = org_with_plan(pa);

    /* obs.2 observed flm.a1 last; obs.1 flm.c1 before obs.3 did. */
    assert_int_equal(submit_last(f, "flm.a1", "obs.2"), 0);
    assert_int_equal(submit_last(f, "flm.c1", "obs.1"), 0);
    assert_int_equal(submit_last(f, "flm.c1", "obs.3"), 0);
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct draw_call d;
        unsigned load[6] = {0};

        draw(f->s, "programme:p1", seed, 0, 0, &d);
        assert_true(d.res.n_unfilled <= expect_unfilled_max);
        for (size_t i = 0; i < d.res.n; i++) {
            const Coachq__V1__Assignment *x = d.res.asg[i];
            const char *o = x->observer_id, *m = x->manager_id;

            assert_true(in_list(o, observers, 6));
            assert_string_not_equal(o, "obs.nocert");
            assert_string_not_equal(o, "obs.off");
            for (size_t j = 0; j < 6; j++) {
                load[j] += strcmp(observers[j], o) == 0;
            }
            if (pa->line) {
                /* obs.a is on line a; slm.c is line c's manager. */
                assert_false(strcmp(o, "obs.a") == 0 && strncmp(m, "flm.a", 5) == 0);
                assert_false(strcmp(o, "slm.c") == 0 && strncmp(m, "flm.c", 5) == 0);
            }
            if (pa->reports) {
                assert_false(strcmp(o, "dir.1") == 0 && strncmp(m, "flm.a", 5) == 0);
                assert_false(strcmp(o, "slm.c") == 0 && strncmp(m, "flm.c", 5) == 0);
            }
            if (pa->last) {
                assert_false(strcmp(o, "obs.2") == 0 && strcmp(m, "flm.a1") == 0);
                assert_false(strcmp(o, "obs.3") == 0 && strcmp(m, "flm.c1") == 0);
            }
        }
        for (size_t j = 0; j < 6 && pa->cap > 0; j++) {
            assert_true(load[j] <= pa->cap);
        }
        assign_draw_result_clear(&d.res);
    }
    testutil_store_fx_free(f);
}

static void test_exclusion_own_line(void **state)
{
    struct plan_args pa = {"programme:p1", 1, 0, 0, 0, 1};

    (void)state;
    check_exclusions(&pa, 0);
}

static void test_exclusion_own_reports(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 1, 0, 0, 1};

    (void)state;
    check_exclusions(&pa, 0);
}

static void test_exclusion_last_observed(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 1, 0, 1};

    (void)state;
    check_exclusions(&pa, 0);
}

static void test_load_cap(void **state)
{
    /* 24 slots and 6 observers at most 3 each: 18 filled, 6 unfilled. */
    struct plan_args pa = {"programme:p1", 1, 1, 1, 3, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;

    (void)state;
    check_exclusions(&pa, 12);
    draw(f->s, "programme:p1", 7, 0, 0, &d);
    assert_int_equal(d.res.n, 18);
    assert_int_equal(d.res.draw.unfilled, 6);
    assert_true(d.res.n_unfilled > 0);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* ---- A past period's draw, reproduced after expiry ------------------------ */

static int expire_all_txn(struct store_txn *t, void *arg)
{
    size_t *n = arg;

    return assign_expire(t, (int64_t)(DAY + 90) * 86400000, n);
}

struct past_reassign {
    uint8_t id[16];
    const char *to;
    uint8_t new_id[16];
    struct validate_error fault;
};

static int past_reassign_txn(struct store_txn *t, void *arg)
{
    struct past_reassign *r = arg;

    return assign_reassign(t, r->id, r->to, NOW_MS, "test", r->new_id, &r->fault);
}

static void test_past_period_reproduced(void **state)
{
    /* A first draw holds some managers and loads some observers; the
     * second, dry-run, draw must come out the same once the first one's
     * assignments have expired (a restored backup, drawn again later). */
    struct plan_args pa = {"programme:p1", 0, 0, 0, 3, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    static uint8_t a[1 << 16], b[1 << 16];
    struct draw_call d1, d2, d3;
    struct past_reassign ra;
    size_t na, nb, expired = 0;

    (void)state;
    draw(f->s, "programme:p1", 99, 7, 1, &d1);
    assert_int_equal(d1.res.n, 7);
    /* One of them reassigned: the old one no longer counts, its
     * replacement does (and expires with the rest). */
    {
        /* The first observer below the plan's load cap, other than the
         * one drawn, takes it (a reassignment keeps the plan's rules). */
        int moved = 0;

        for (size_t k = 0; k < sizeof(observers) / sizeof(observers[0]) && !moved; k++) {
            if (strcmp(observers[k], d1.res.asg[0]->observer_id) == 0) {
                continue;
            }
            memset(&ra, 0, sizeof(ra));
            memcpy(ra.id, d1.res.asg[0]->id.data, 16);
            ra.to = observers[k];
            moved = store_exec(f->s, past_reassign_txn, &ra) == 0;
        }
        assert_true(moved);
    }
    draw(f->s, "programme:p1", 4242, 0, 0, &d2);
    assert_true(d2.res.n > 0);
    assert_int_equal(store_exec(f->s, expire_all_txn, &expired), 0);
    assert_int_equal(expired, 7);
    draw(f->s, "programme:p1", 4242, 0, 0, &d3);
    assert_int_equal(d3.res.n, d2.res.n);
    assert_int_equal(d3.res.draw.unfilled, d2.res.draw.unfilled);
    na = draw_bytes(&d2.res, a, sizeof(a));
    nb = draw_bytes(&d3.res, b, sizeof(b));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assign_draw_result_clear(&d1.res);
    assign_draw_result_clear(&d2.res);
    assign_draw_result_clear(&d3.res);
    testutil_store_fx_free(f);
}

/* ---- coachqd verify: the assignment indexes ------------------------------- */

static int first_key(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct keys_buf *k = arg;

    (void)val;
    (void)vlen;
    keys_buf_raw(k, key, klen);
    return 1;
}

/* Loses one asg_open entry and adds an asg_by_manager entry that no
 * assignment gives. */
static int damage_txn(struct store_txn *t, void *arg)
{
    static const uint8_t ghost[] =
        "\x05ghost\x00\x00\x4e\x20"
        "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10";
    struct keys_buf k;
    int rc;

    (void)arg;
    keys_buf_reset(&k);
    rc = store_txn_scan(t, t->s->dbi_asg_open, NULL, 0, 0, first_key, &k);
    if (rc == 0 && k.len == 0) {
        rc = -ENOENT;
    }
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_asg_open, k.b, k.len);
    }
    if (rc == 0) {
        rc =
            store_txn_put_raw(t, t->s->dbi_asg_by_manager, ghost, sizeof(ghost) - 1, NULL, 0, NULL);
    }
    return rc;
}

/* Loses one asg_due entry (an open assignment without its day) and adds
 * an asg_obs_due entry on a day the assignment is not due (an entry no
 * assignment gives in that status and day). */
static int damage_due_txn(struct store_txn *t, void *arg)
{
    struct keys_buf k;
    uint8_t moved[KEYS_BUF_MAX];
    size_t n;
    int rc;

    (void)arg;
    keys_buf_reset(&k);
    rc = store_txn_scan(t, t->s->dbi_asg_due, NULL, 0, 0, first_key, &k);
    if (rc == 0 && k.len == 0) {
        rc = -ENOENT;
    }
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_asg_due, k.b, k.len);
    }
    keys_buf_reset(&k);
    if (rc == 0) {
        rc = store_txn_scan(t, t->s->dbi_asg_obs_due, NULL, 0, 0, first_key, &k);
    }
    if (rc == 0 && k.len < 1 + 4 + KEYS_UUID_LEN) {
        rc = -ENOENT;
    }
    if (rc == 0) {
        /* The same observer and assignment, due a day later. */
        n = k.len;
        memcpy(moved, k.b, n);
        keys_put_be32(moved + n - KEYS_UUID_LEN - 4,
                      keys_get_be32(moved + n - KEYS_UUID_LEN - 4) + 1);
        rc = store_txn_put_raw(t, t->s->dbi_asg_obs_due, moved, n, NULL, 0, NULL);
    }
    return rc;
}

/* Marks the first assignment expired behind the indexes' back: its
 * entries in the open-only indexes are left in place. */
static int damage_closed_txn(struct store_txn *t, void *arg)
{
    Coachq__V1__Assignment *a = NULL;
    struct keys_buf k;
    uint8_t *buf = NULL;
    size_t len;
    int rc;

    (void)arg;
    keys_buf_reset(&k);
    rc = store_txn_scan(t, t->s->dbi_asg, NULL, 0, 0, first_key, &k);
    if (rc == 0 && k.len != KEYS_UUID_LEN) {
        rc = -ENOENT;
    }
    if (rc == 0) {
        rc = assign_get(t, k.b, &a);
    }
    if (rc == 0 && a->status != COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) {
        rc = -EINVAL;
    }
    if (rc == 0) {
        a->status = COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED;
        len = coachq__v1__assignment__get_packed_size(a);
        buf = malloc(len + 1);
        rc = buf == NULL ? -ENOMEM : 0;
    }
    if (rc == 0) {
        coachq__v1__assignment__pack(a, buf);
        rc = store_txn_put_raw(t, t->s->dbi_asg, k.b, k.len, buf, len, NULL);
    }
    free(buf);
    if (a != NULL) {
        coachq__v1__assignment__free_unpacked(a, NULL);
    }
    return rc;
}

static void test_verify_indexes(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct assign_verify_result r;
    struct draw_call d;
    char out[8192];

    (void)state;
    draw(f->s, "programme:p1", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 12);
    assign_draw_result_clear(&d.res);
    assert_int_equal(assign_verify(f->s, 0, &r), 0);
    assert_int_equal(r.assignments, 12);
    assert_int_equal(r.entries, 48);
    assert_int_equal(r.differences, 0);
    assert_int_equal(store_exec(f->s, damage_txn, NULL), 0);
    assert_int_equal(assign_verify(f->s, 0, &r), 0);
    assert_int_equal(r.differences, 2);
    assert_int_equal(r.index_differences[0], 1);
    assert_int_equal(r.index_differences[1], 1);
    assert_string_equal(assign_verify_index_name(0), "asg_open");
    assert_string_equal(assign_verify_index_name(1), "asg_by_manager");
    store_close(f->s);
    f->s = NULL;
    /* coachqd verify finds it (exit 1), --repair writes them afresh. */
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "assignment index differences: 2"));
    assert_non_null(strstr(out, "the assignment indexes differ from the assignments"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "repaired: the assignment indexes were written afresh"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "assignment index differences: 0"));
    assert_non_null(strstr(out, "the assignment indexes match the assignments"));
    f->s = testutil_store_open(f->dir, 0);
    assert_int_equal(assign_verify(f->s, 0, &r), 0);
    assert_int_equal(r.assignments, 12);
    assert_int_equal(r.entries, 48);
    assert_int_equal(r.differences, 0);

    /* The due-day indexes: an open assignment without its asg_due entry,
     * and an asg_obs_due entry on a day the assignment is not due. */
    assert_int_equal(store_exec(f->s, damage_due_txn, NULL), 0);
    assert_int_equal(assign_verify(f->s, 0, &r), 0);
    assert_int_equal(r.differences, 2);
    assert_int_equal(r.index_differences[0], 0);
    assert_int_equal(r.index_differences[1], 0);
    assert_int_equal(r.index_differences[2], 1);
    assert_int_equal(r.index_differences[3], 1);
    store_close(f->s);
    f->s = NULL;
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "assignment index asg_due differs: 1 entry missing or extra\n"));
    assert_non_null(strstr(out, "assignment index asg_obs_due differs: 1 entry missing or extra"));
    assert_null(strstr(out, "assignment index asg_open differs"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f->dir, NULL);
    /* The repair's audit entry names the indexes that differed. */
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "differences=2; assignments=12; asg_due=1; asg_obs_due=1"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "assignment index differences: 0"));

    /* An assignment no longer open keeps no entry in the open-only
     * indexes: its three are extra, asg_by_manager still matches. */
    f->s = testutil_store_open(f->dir, 0);
    assert_int_equal(store_exec(f->s, damage_closed_txn, NULL), 0);
    assert_int_equal(assign_verify(f->s, 0, &r), 0);
    assert_int_equal(r.differences, 3);
    assert_int_equal(r.index_differences[1], 0);
    assert_int_equal(r.index_differences[2], 1);
    assert_int_equal(r.index_differences[3], 1);
    store_close(f->s);
    f->s = NULL;
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "assignment index asg_open differs: 1 "));
    assert_non_null(strstr(out, "assignment index asg_due differs: 1 "));
    assert_non_null(strstr(out, "assignment index asg_obs_due differs: 1 "));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f->dir, NULL);
    f->s = testutil_store_open(f->dir, 0);
    assert_int_equal(assign_verify(f->s, 0, &r), 0);
    assert_int_equal(r.entries, 11 * 3 + 12);
    assert_int_equal(r.differences, 0);
    testutil_store_fx_free(f);
}

static int put_week_plan(struct store_txn *t, void *arg)
{
    Coachq__V1__CoveragePlan p = COACHQ__V1__COVERAGE_PLAN__INIT;

    p.scope = "programme:p1";
    p.rubric_id = arg;
    p.per_period = 1;
    p.period = COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK;
    p.set_by = "test";
    return assign_plan_put(t, &p, NULL);
}

/* Draws programme:p1 for period_day: the store's code, the fault's field. */
static int draw_refused(struct store *s, int32_t period_day, char *field, size_t len)
{
    struct draw_call dc;
    int rc;

    memset(&dc, 0, sizeof(dc));
    dc.req.scope = "programme:p1";
    dc.req.seed = 1;
    dc.req.period_day = period_day;
    dc.req.now_ms = NOW_MS;
    dc.req.actor = "test";
    rc = store_exec(s, draw_txn, &dc);
    snprintf(field, len, "%s", dc.res.fault.field);
    assign_draw_result_clear(&dc.res);
    return rc;
}

/* A period outside the years 2000-2099 is refused naming period_day, on a
 * weekly plan (where from + 6 would overflow) and a monthly one; a plan
 * whose rubric is gone is refused naming the field a draw has. */
static void test_draw_refusals(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    const int32_t bad[] = {INT32_MAX, ASSIGN_MAX_DAY + 1, ASSIGN_MIN_DAY - 1, 1, -1, INT32_MIN};
    char field[128];

    (void)state;
    for (int week = 0; week < 2; week++) {
        if (week) {
            assert_int_equal(store_exec(f->s, put_week_plan, "coaching-conversation"), 0);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(draw_refused(f->s, bad[i], field, sizeof(field)), ERROR_REFUSED);
            assert_string_equal(field, "period_day");
        }
        assert_int_equal(draw_refused(f->s, ASSIGN_MAX_DAY, field, sizeof(field)), -ECANCELED);
    }
    assert_int_equal(store_exec(f->s, put_week_plan, "not-installed"), 0);
    assert_int_equal(draw_refused(f->s, DAY, field, sizeof(field)), ERROR_REFUSED);
    assert_string_equal(field, "plan_scope");
    testutil_store_fx_free(f);
}

static int org_zone_txn(struct store_txn *t, void *arg)
{
    char old[64], why[128];

    return zone_org_set(t, arg, old, sizeof(old), why, sizeof(why));
}

/* A draw with no period (period_day 0) takes the organisation's today at
 * now_ms: on a Sunday at 12:00 UTC it is Monday 02:00 in
 * Pacific/Kiritimati (UTC+14), so a weekly plan draws Monday's week, not
 * the week of the UTC day. */
static void test_draw_org_today(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    const int32_t sunday = DAY + 2; /* 2024-10-06 */
    int32_t from, until, utc_from;
    char field[128];
    struct draw_call dc;

    (void)state;
    assert_int_equal(store_exec(f->s, put_week_plan, "coaching-conversation"), 0);
    assert_int_equal(store_exec(f->s, org_zone_txn, "Pacific/Kiritimati"), 0);
    memset(&dc, 0, sizeof(dc));
    dc.req.scope = "programme:p1";
    dc.req.seed = 1;
    dc.req.period_day = 0;
    dc.req.now_ms = ((int64_t)sunday * 86400 + 12 * 3600) * 1000;
    dc.req.actor = "test";
    assert_int_equal(store_exec(f->s, draw_txn, &dc), -ECANCELED);
    assert_int_equal(dc.rc, 0);
    assign_period(COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK, sunday + 1, &from, &until);
    assign_period(COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK, sunday, &utc_from, &until);
    assert_int_equal(from, sunday + 1);
    assert_true(utc_from != from);
    assert_int_equal(dc.res.draw.due_from_day, from);
    assert_int_equal(dc.res.draw.due_until_day, from + 6);
    assign_draw_result_clear(&dc.res);
    /* An explicit period still decides. */
    assert_int_equal(draw_refused(f->s, sunday, field, sizeof(field)), -ECANCELED);
    testutil_store_fx_free(f);
}

/* ---- Reassignment --------------------------------------------------------- */

struct reassign_call {
    uint8_t id[16];
    const char *to;
    uint8_t new_id[16];
    struct validate_error fault;
    int rc;
};

static int reassign_txn(struct store_txn *t, void *arg)
{
    struct reassign_call *rc = arg;

    memset(&rc->fault, 0, sizeof(rc->fault));
    rc->rc = assign_reassign(t, rc->id, rc->to, NOW_MS, "test", rc->new_id, &rc->fault);
    return rc->rc;
}

static int get_txn(struct store_txn *t, void *arg)
{
    Coachq__V1__Assignment **a = arg;

    return assign_get(t, (*a)->id.data, a);
}

/* Reads assignment id again (caller frees). */
static Coachq__V1__Assignment *reread(struct store *s, const uint8_t id[16])
{
    Coachq__V1__Assignment key = COACHQ__V1__ASSIGNMENT__INIT;
    Coachq__V1__Assignment *a = &key;

    key.id.data = (uint8_t *)id;
    key.id.len = 16;
    assert_int_equal(store_view(s, get_txn, &a), 0);
    return a;
}

static void test_reassign_refuses_disabled_and_uncertified(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct reassign_call r;
    Coachq__V1__Assignment *a;
    static const char *const bad[] = {"obs.off", "obs.nocert", "nobody", "rep.1"};

    (void)state;
    draw(f->s, "line:slm.b", 99, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&r, 0, sizeof(r));
        memcpy(r.id, d.res.asg[0]->id.data, 16);
        r.to = bad[i];
        assert_int_equal(store_exec(f->s, reassign_txn, &r), ERROR_REFUSED);
        assert_string_equal(r.fault.field, "observer_id");
        a = reread(f->s, r.id);
        assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
        assert_string_equal(a->observer_id, d.res.asg[0]->observer_id);
        assert_int_equal(a->reassigned_to.len, 0);
        coachq__v1__assignment__free_unpacked(a, NULL);
    }
    memset(&r, 0, sizeof(r));
    memcpy(r.id, d.res.asg[0]->id.data, 16);
    r.to = strcmp(d.res.asg[0]->observer_id, "obs.3") == 0 ? "obs.2" : "obs.3";
    assert_int_equal(store_exec(f->s, reassign_txn, &r), 0);
    a = reread(f->s, r.id);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_REASSIGNED);
    assert_memory_equal(a->reassigned_to.data, r.new_id, 16);
    coachq__v1__assignment__free_unpacked(a, NULL);
    a = reread(f->s, r.new_id);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    assert_string_equal(a->observer_id, r.to);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* A closed one cannot be reassigned again. */
    assert_int_equal(store_exec(f->s, reassign_txn, &r), ERROR_REFUSED);
    assert_string_equal(r.fault.field, "assignment_id");
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* Reassigns an assignment of manager (drawn under pa, obs.2 having
 * observed flm.a1 last) to observer to: the store's code, the fault's
 * field. Tries seeds until the draw gave manager to somebody else. */
static int reassign_under(const struct plan_args *pa, const char *manager, const char *to,
                          char *field, size_t len)
{
    for (uint64_t seed = 1; seed < 100; seed++) {
        struct testutil_store_fx *f = org_with_plan(pa);
        struct reassign_call r;
        struct draw_call d;
        int rc = 1;

        assert_int_equal(submit_last(f, "flm.a1", "obs.2"), 0);
        draw(f->s, pa->scope, seed, 0, 1, &d);
        for (size_t i = 0; i < d.res.n && rc == 1; i++) {
            if (strcmp(d.res.asg[i]->manager_id, manager) == 0 &&
                strcmp(d.res.asg[i]->observer_id, to) != 0) {
                memset(&r, 0, sizeof(r));
                memcpy(r.id, d.res.asg[i]->id.data, 16);
                r.to = to;
                rc = store_exec(f->s, reassign_txn, &r);
                snprintf(field, len, "%s", r.fault.field);
            }
        }
        assign_draw_result_clear(&d.res);
        testutil_store_fx_free(f);
        if (rc != 1) {
            return rc;
        }
    }
    fail_msg("no draw gave %s to anybody but %s", manager, to);
    return -1;
}

/* A reassignment keeps the plan's exclusions, each refused naming
 * observer_id, and allowed when the plan has none. */
static void test_reassign_keeps_exclusions(void **state)
{
    static const struct {
        struct plan_args pa;
        const char *manager, *to;
    } cases[] = {
        {{"programme:p1", 1, 0, 0, 0, 1}, "flm.a2", "obs.a"}, /* on line a */
        {{"programme:p1", 1, 0, 0, 0, 1}, "flm.c2", "slm.c"}, /* line c's manager */
        {{"programme:p1", 0, 1, 0, 0, 1}, "flm.a2", "dir.1"}, /* above slm.a */
        {{"programme:p1", 0, 0, 1, 0, 1}, "flm.a1", "obs.2"}, /* observed it last */
    };
    struct plan_args none = {"programme:p1", 0, 0, 0, 0, 1};
    char field[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            reassign_under(&cases[i].pa, cases[i].manager, cases[i].to, field, sizeof(field)),
            ERROR_REFUSED);
        assert_string_equal(field, "observer_id");
        assert_int_equal(reassign_under(&none, cases[i].manager, cases[i].to, field, sizeof(field)),
                         0);
    }
}

/* A reassignment to an observer already at the plan's load cap: refused. */
static void test_reassign_keeps_load_cap(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 1, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct reassign_call r;
    struct draw_call d;
    Coachq__V1__Assignment *a;

    (void)state;
    draw(f->s, "programme:p1", 3, 0, 1, &d);
    assert_true(d.res.n >= 2);
    /* Every observer holds at most one: the second's observer is full. */
    memset(&r, 0, sizeof(r));
    memcpy(r.id, d.res.asg[0]->id.data, 16);
    r.to = d.res.asg[1]->observer_id;
    assert_string_not_equal(r.to, d.res.asg[0]->manager_id);
    assert_int_equal(store_exec(f->s, reassign_txn, &r), ERROR_REFUSED);
    assert_string_equal(r.fault.field, "observer_id");
    assert_non_null(strstr(r.fault.message, "load cap"));
    a = reread(f->s, r.id);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* ---- Erasure ------------------------------------------------------------------ */

struct list_call {
    const char *observer;
    int64_t now_ms; /* 0: NOW_MS */
    Coachq__V1__Assignment **l;
    size_t n;
};

static int list_txn(struct store_txn *t, void *arg)
{
    struct list_call *lc = arg;
    int truncated;

    return assign_list(t, lc->observer, 0, lc->now_ms != 0 ? lc->now_ms : NOW_MS, &lc->l, &lc->n,
                       &truncated);
}

/* An erased observer's assignments name the pseudonym, and their queue is
 * found under it: no assignment or index key keeps the id. */
static void test_erase_observer(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 0, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct erase_request er;
    struct draw_call d;
    struct list_call lc;
    size_t had = 0;

    (void)state;
    draw(f->s, "programme:p1", 31, 0, 1, &d);
    for (size_t i = 0; i < d.res.n; i++) {
        had += strcmp(d.res.asg[i]->observer_id, "obs.1") == 0;
    }
    assert_true(had > 0);
    assert_int_equal(testutil_erase(f->s, "obs.1", NOW_MS, &er), 0);
    memset(&lc, 0, sizeof(lc));
    lc.observer = "obs.1";
    assert_int_equal(store_view(f->s, list_txn, &lc), 0);
    assert_int_equal(lc.n, 0);
    assign_list_free(lc.l, lc.n);
    lc.observer = er.pseudonym;
    assert_int_equal(store_view(f->s, list_txn, &lc), 0);
    assert_int_equal(lc.n, had);
    for (size_t i = 0; i < lc.n; i++) {
        assert_string_equal(lc.l[i]->observer_id, er.pseudonym);
    }
    assign_list_free(lc.l, lc.n);
    lc.observer = NULL;
    assert_int_equal(store_view(f->s, list_txn, &lc), 0);
    assert_int_equal(lc.n, d.res.n);
    for (size_t i = 0; i < lc.n; i++) {
        assert_string_not_equal(lc.l[i]->observer_id, "obs.1");
    }
    assign_list_free(lc.l, lc.n);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* ---- Fulfilment in a bare store ------------------------------------------- */

static int get_obs(struct store *s, const uint8_t id[16])
{
    Coachq__V1__StoredObservation *rec = NULL;
    int rc = store_get(s, id, &rec);

    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

static void test_fulfilment(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    const Coachq__V1__Assignment *x, *y;
    Coachq__V1__Assignment *a;
    uint8_t forged[16];
    int64_t in_window = (int64_t)(DAY + 2) * 86400;

    (void)state;
    draw(f->s, "line:slm.b", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    x = d.res.asg[0];
    y = d.res.asg[1];

    /* A forged id: refused, nothing stored. */
    assert_int_equal(uuid_generate(forged), 0);
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window);
    o.o.assignment_id.data = forged;
    o.o.assignment_id.len = 16;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000),
                     ERROR_REFUSED);
    assert_int_equal(get_obs(f->s, o.id), -ENOENT);

    /* Another observer's assignment: refused. */
    if (strcmp(x->observer_id, y->observer_id) != 0) {
        testutil_obs_make(&o, y->manager_id, "rep.1", in_window);
        o.o.assignment_id = y->id;
        assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000),
                         ERROR_REFUSED);
        assert_int_equal(get_obs(f->s, o.id), -ENOENT);
    }
    /* The right one for another coach: refused. */
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window);
    o.o.assignment_id = x->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000),
                     ERROR_REFUSED);

    /* An observation of the manager after the window closed (submitted
     * later, session outside): stored, the assignment not fulfilled. */
    testutil_obs_make(&o, y->manager_id, "rep.1", (int64_t)(DAY + 40) * 86400);
    assert_int_equal(
        testutil_store_submit(f->s, &o.o, y->observer_id, (int64_t)(DAY + 40) * 86400000), 0);
    a = reread(f->s, y->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Naming it explicitly once expired: refused. */
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window);
    o.o.assignment_id = y->id;
    assert_int_equal(
        testutil_store_submit(f->s, &o.o, y->observer_id, (int64_t)(DAY + 40) * 86400000),
        ERROR_REFUSED);

    /* In the window without naming it: fulfilled by that observation. */
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window);
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000), 0);
    a = reread(f->s, x->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    assert_int_equal(a->observation_id.len, 16);
    assert_memory_equal(a->observation_id.data, o.id, 16);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Two more in October: x's manager by a certified observer without an
     * assignment, and y's manager by an observer certified for nothing
     * (which neither covers y's manager nor counts). */
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window + 120);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", (in_window + 120) * 1000), 0);
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window + 240);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", (in_window + 240) * 1000), 0);
    a = reread(f->s, y->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Observer reliability's coverage against the plan, worked by hand:
     * two managers in line b. October's observations of the plan's rubric
     * by certified observers: two of x's manager (one fulfilled x), none of
     * y's (obs.nocert holds no certification; the one by y's observer is
     * in November). So 1 of 2 managers covered; two drawn, one done, none
     * expired, one still open on the 3rd; of the 2 counted observations, 1
     * is a done assignment's observation_id. (Counting every observation,
     * as before, gave 2 of 2 covered and min(done 1, observations 3).) */
    /* Programme impact carries the same table, from the same code. */
    for (int k = 0; k < 2; k++) {
        struct dash *dd = NULL;
        const Coachq__V1__Dashboard *m;
        const Coachq__V1__Table *tab = NULL;
        static const char *const want[] = {
            "line:slm.b: 1 a month", "2024-10-01..2024-10-31", "50% (1 of 2)", "2", "1", "0", "1",
            "50% (1 of 2)"};

        assert_int_equal(
            testutil_dash_as_lead(f->s,
                                  k == 0 ? COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS
                                         : COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME,
                                  DAY + 2, 0, (int64_t)(DAY + 2) * 86400 + 7200, &dd),
            0);
        m = dash_message(dd);
        for (size_t i = 0; i < m->n_tables; i++) {
            if (strcmp(m->tables[i]->id, "coverage-plans") == 0) {
                tab = m->tables[i];
            }
        }
        assert_non_null(tab);
        assert_int_equal(tab->n_rows, 1);
        assert_int_equal(tab->rows[0]->n_cells, 8);
        for (size_t i = 0; i < 8; i++) {
            assert_string_equal(tab->rows[0]->cells[i]->text, want[i]);
        }
        dash_free(dd);
    }
    /* A closed one named again: refused. */
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window + 60);
    o.o.assignment_id = x->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000 + 60000),
                     ERROR_REFUSED);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

static int set_zone(struct store_txn *t, void *arg)
{
    const char *const *pz = arg;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(t, pz[0], &p);

    if (rc == 0) {
        p->time_zone = (char *)pz[1];
        rc = people_put(t, p, NULL);
        p->time_zone = NULL;
    }
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

struct expire_call {
    int64_t now_ms;
    size_t n;
};

static int expire_txn(struct store_txn *t, void *arg)
{
    struct expire_call *e = arg;

    return assign_expire(t, e->now_ms, &e->n);
}

/* "Today" is the coach's: in a far-west zone, 17:30 local on the window's
 * last day (00:30 UTC the day after) the assignment is still open, listed
 * open, not expired, and fulfilled when named. */
static void test_far_west_today(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    struct list_call lc;
    struct expire_call e;
    const Coachq__V1__Assignment *x;
    Coachq__V1__Assignment *a;
    /* 2024-10-31, the window's last day; PDT is UTC-7. */
    const int64_t last = 20027;
    const int64_t session = last * 86400 + 22 * 3600;                /* 15:00 PDT */
    const int64_t now_ms = ((last + 1) * 86400 + 1800) * 1000;       /* 17:30 PDT */
    const int64_t later_ms = ((last + 1) * 86400 + 8 * 3600) * 1000; /* 01:00 PDT, Nov 1 */

    (void)state;
    for (size_t i = 0; i < sizeof(line_b) / sizeof(line_b[0]); i++) {
        const char *pz[2] = {line_b[i], "America/Los_Angeles"};

        assert_int_equal(store_exec(f->s, set_zone, (void *)pz), 0);
    }
    draw(f->s, "line:slm.b", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    x = d.res.asg[0];
    assert_int_equal(x->due_until_day, last);

    /* Listed open, and not expired, in the coach's evening. */
    memset(&lc, 0, sizeof(lc));
    lc.observer = x->observer_id;
    lc.now_ms = now_ms;
    assert_int_equal(store_exec(f->s, list_txn, &lc), 0);
    assert_true(lc.n >= 1);
    for (size_t i = 0; i < lc.n; i++) {
        assert_int_equal(lc.l[i]->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    }
    assign_list_free(lc.l, lc.n);
    e.now_ms = now_ms;
    e.n = 99;
    assert_int_equal(store_exec(f->s, expire_txn, &e), 0);
    assert_int_equal(e.n, 0);

    /* Named then: stored, and the assignment done. */
    testutil_obs_make(&o, x->manager_id, "rep.1", session);
    o.o.assignment_id = x->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, now_ms), 0);
    assert_int_equal(get_obs(f->s, o.id), 0);
    a = reread(f->s, x->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    coachq__v1__assignment__free_unpacked(a, NULL);

    /* Once the coach's day is over, the other expires. */
    e.now_ms = later_ms;
    assert_int_equal(store_exec(f->s, expire_txn, &e), 0);
    assert_int_equal(e.n, 1);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

static int short_cert(struct store_txn *t, void *arg)
{
    (void)arg;
    return testutil_put_cert(t, "obs.nocert", 18000, DAY, "test");
}

/* The open-assignment index's entries, in *(size_t *)arg. */
static int open_count_txn(struct store_txn *t, void *arg)
{
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->s->dbi_asg_open, &st);

    *(size_t *)arg = rc == 0 ? st.ms_entries : SIZE_MAX;
    return rc == 0 ? 0 : -EIO;
}

static size_t open_count(struct store *s)
{
    size_t n = SIZE_MAX;

    assert_int_equal(store_view(s, open_count_txn, &n), 0);
    return n;
}

struct candidate_call {
    const char *observer;
    const Coachq__V1__Observation *o;
    int maybe;
};

static int candidate_txn(struct store_txn *t, void *arg)
{
    struct candidate_call *c = arg;

    return assign_match_candidate(t, c->observer, c->o, 0, &c->maybe);
}

/* What assign_match_candidate() tells for o by observer. */
static int candidate(struct store *s, const char *observer, const Coachq__V1__Observation *o)
{
    struct candidate_call c = {observer, o, -1};

    assert_int_equal(store_view(s, candidate_txn, &c), 0);
    return c.maybe;
}

/* An unnamed record by asg's observer of its manager's session at at
 * (submitted 100 s later): stored, it is asg's observation and asg DONE. */
static void expect_fulfils(struct store *s, const Coachq__V1__Assignment *asg, int64_t at)
{
    struct testutil_obs o;
    Coachq__V1__Assignment *a;

    testutil_obs_make(&o, asg->manager_id, "rep.1", at);
    assert_int_equal(candidate(s, asg->observer_id, &o.o), 1);
    assert_int_equal(testutil_store_submit(s, &o.o, asg->observer_id, (at + 100) * 1000), 0);
    a = reread(s, asg->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    assert_int_equal(a->observation_id.len, 16);
    assert_memory_equal(a->observation_id.data, o.id, 16);
    coachq__v1__assignment__free_unpacked(a, NULL);
}

/* The writer skips the zone reads and the match when no open assignment
 * could match: hundreds of unassigned records while the store holds no
 * open assignment, and more once it does (of other observers and
 * managers), are stored and fulfil nothing; the first record of a drawn
 * pair in the window still fulfils its assignment, unnamed, and so does
 * the last, after which the index is empty again and records go on being
 * stored. */
static void test_fulfil_after_unassigned(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    const Coachq__V1__Assignment *x, *y;
    Coachq__V1__Assignment *a;
    const int64_t before = (int64_t)(DAY - 30) * 86400;
    const int64_t in_window = (int64_t)(DAY + 2) * 86400;
    const size_t nobs = sizeof(observers) / sizeof(observers[0]);

    (void)state;
    assert_int_equal(open_count(f->s), 0);
    testutil_obs_make(&o, "flm.b1", "rep.1", before);
    assert_int_equal(candidate(f->s, "obs.1", &o.o), 0);
    /* 240 unassigned records of every observer and line b manager, in the
     * month before, with no open assignment in the store. */
    for (size_t i = 0; i < 240; i++) {
        int64_t at = before + (int64_t)i * 600;

        testutil_obs_make(&o, line_b[i % 2], "rep.1", at);
        assert_int_equal(
            testutil_store_submit(f->s, &o.o, observers[(i / 2) % nobs], (at + 60) * 1000), 0);
        assert_int_equal(get_obs(f->s, o.id), 0);
    }

    draw(f->s, "line:slm.b", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    x = d.res.asg[0];
    y = d.res.asg[1];
    assert_int_equal(open_count(f->s), 2);

    /* Open assignments now exist, but none of these pairs: observers that
     * hold none observe both managers, and line a's managers are observed
     * by everyone. None is a candidate; all are stored; x and y stay open. */
    for (size_t i = 0; i < 60; i++) {
        const char *obs = observers[i % nobs];
        int64_t at = in_window + (int64_t)i * 60;

        if (strcmp(obs, x->observer_id) == 0 || strcmp(obs, y->observer_id) == 0) {
            testutil_obs_make(&o, line_a[i % 4], "rep.1", at);
        } else {
            testutil_obs_make(&o, line_b[i % 2], "rep.1", at);
        }
        assert_int_equal(candidate(f->s, obs, &o.o), 0);
        assert_int_equal(testutil_store_submit(f->s, &o.o, obs, (at + 30) * 1000), 0);
    }
    a = reread(f->s, x->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);

    /* Naming an assignment is always a candidate (the full check refuses or
     * fulfils it), and a calibration attempt never is. */
    testutil_obs_make(&o, "flm.a1", "rep.1", in_window);
    o.o.assignment_id = x->id;
    assert_int_equal(candidate(f->s, "obs.nocert", &o.o), 1);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", in_window * 1000),
                     ERROR_REFUSED);
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window + 3600);
    o.o.calibration_ref.data = o.id;
    o.o.calibration_ref.len = 16;
    assert_int_equal(candidate(f->s, x->observer_id, &o.o), 0);
    o.o.calibration_ref.len = 0;
    assert_int_equal(candidate(f->s, x->observer_id, &o.o), 1);

    /* The drawn pair's first record in the window fulfils x, unnamed. */
    expect_fulfils(f->s, x, in_window + 7200);
    assert_int_equal(open_count(f->s), 1);

    /* And y's, the last open one; then the index is empty again. */
    expect_fulfils(f->s, y, in_window + 9000);
    assert_int_equal(open_count(f->s), 0);
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window + 9900);
    assert_int_equal(candidate(f->s, y->observer_id, &o.o), 0);
    assert_int_equal(testutil_store_submit(f->s, &o.o, y->observer_id, (in_window + 9950) * 1000),
                     0);
    assert_int_equal(get_obs(f->s, o.id), 0);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* A double-coded session fulfils one slot: two observers scoring the same
 * session (coach, coachee, start) of a manager with two assignments fulfil
 * one; the second naming its own is refused, and unnamed it is stored and
 * fulfils nothing. An observer whose certification ended before the
 * session's day fulfils nothing either. */
static void test_double_coded_and_cert(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    struct reassign_call r;
    const Coachq__V1__Assignment *x1 = NULL, *x2 = NULL;
    Coachq__V1__Assignment *a;
    const int64_t at = (int64_t)(DAY + 2) * 86400;
    const int64_t rx_ms = (at + 600) * 1000;

    (void)state;
    draw(f->s, "line:slm.b", 11, 0, 1, &d);
    for (size_t i = 0; i < d.res.n; i++) {
        if (strcmp(d.res.asg[i]->manager_id, "flm.b1") == 0) {
            if (x1 == NULL) {
                x1 = d.res.asg[i];
            } else {
                x2 = d.res.asg[i];
            }
        }
    }
    assert_non_null(x1);
    assert_non_null(x2);
    assert_string_not_equal(x1->observer_id, x2->observer_id);

    /* The first observer's score of the session fulfils x1. */
    testutil_obs_make(&o, "flm.b1", "rep.1", at);
    o.o.assignment_id = x1->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x1->observer_id, rx_ms), 0);
    a = reread(f->s, x1->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* The second observer's score of the same session naming x2: refused. */
    testutil_obs_make(&o, "flm.b1", "rep.1", at);
    o.o.assignment_id = x2->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x2->observer_id, rx_ms), ERROR_REFUSED);
    assert_int_equal(get_obs(f->s, o.id), -ENOENT);
    /* Unnamed: stored, x2 still open. */
    testutil_obs_make(&o, "flm.b1", "rep.1", at);
    assert_int_equal(testutil_store_submit(f->s, &o.o, x2->observer_id, rx_ms), 0);
    assert_int_equal(get_obs(f->s, o.id), 0);
    a = reread(f->s, x2->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);

    /* x2 to obs.nocert, certified on the window's first day only up to
     * DAY: a session on DAY + 2 fulfils nothing. */
    assert_int_equal(store_exec(f->s, short_cert, NULL), 0);
    memset(&r, 0, sizeof(r));
    memcpy(r.id, x2->id.data, 16);
    r.to = "obs.nocert";
    assert_int_equal(store_exec(f->s, reassign_txn, &r), 0);
    testutil_obs_make(&o, "flm.b1", "rep.1", at + 3600);
    o.o.assignment_id.data = r.new_id;
    o.o.assignment_id.len = 16;
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", rx_ms + 3600000),
                     ERROR_REFUSED);
    testutil_obs_make(&o, "flm.b1", "rep.1", at + 3600);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", rx_ms + 3600000), 0);
    a = reread(f->s, r.new_id);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Certified on the day, a fresh session fulfils it. */
    {
        const char *other = strcmp(x1->observer_id, "obs.1") == 0 ? "obs.2" : "obs.1";

        memset(&r.fault, 0, sizeof(r.fault));
        memcpy(r.id, r.new_id, 16);
        r.to = other;
        assert_int_equal(store_exec(f->s, reassign_txn, &r), 0);
        testutil_obs_make(&o, "flm.b1", "rep.1", at + 7200);
        assert_int_equal(testutil_store_submit(f->s, &o.o, other, rx_ms + 7200000), 0);
        a = reread(f->s, r.new_id);
        assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
        coachq__v1__assignment__free_unpacked(a, NULL);
    }
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* ---- Over real TLS, with the real verbs ----------------------------------- */

/* The id and observer of the first open assignment of manager in the
 * output of `coachqd assignment list`. */
static void find_assignment(const char *out, const char *manager, uint8_t id[16], char *observer,
                            size_t len)
{
    char needle[100];
    const char *p, *line;

    snprintf(needle, sizeof(needle), "manager %s ", manager);
    p = strstr(out, needle);
    assert_non_null(p);
    line = p;
    while (line > out && line[-1] != '\n') {
        line--;
    }
    {
        char idtxt[UUID_STR_LEN];
        const char *o = strstr(line, "observer ");
        size_t n = 0;

        memcpy(idtxt, line, 36);
        idtxt[36] = '\0';
        assert_int_equal(uuid_parse(idtxt, id), 0);
        assert_non_null(o);
        o += strlen("observer ");
        while (o[n] != ' ' && n + 1 < len) {
            observer[n] = o[n];
            n++;
        }
        observer[n] = '\0';
    }
}

static void test_fulfil_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[16384], err[4096];
    char observer[65], other[65];
    uint8_t id[16], forged[16];
    struct testutil_obs o;
    struct client_submit_result r;
    Coachq__V1__Observation *one[1];
    struct client *c;
    int64_t now = (int64_t)time(NULL);

    testutil_org_make(org);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--off-own-line", "--data", org->data,
                                         NULL),
                     0);
    /* Set again as it is: unchanged, and no second audit entry. */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--off-own-line", "--data", org->data,
                                         NULL),
                     0);
    assert_non_null(strstr(out, "(unchanged)"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "audit",
                                         "--data", org->data, NULL),
                     0);
    assert_non_null(strstr(out, "plan.set"));
    assert_null(strstr(strstr(out, "plan.set") + 1, "plan.set"));
    /* A disabled observer is never drawn. */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "user",
                                         "disable", "carol", "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "2026", "--data", org->data,
                                         NULL),
                     0);
    assert_non_null(strstr(out, "seed 2026"));
    assert_non_null(strstr(out, "2 assigned, 0 unfilled"));
    assert_null(strstr(out, "carol"));
    assert_null(strstr(out, "obs.ben")); /* not certified */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assignment",
                                         "list", "--data", org->data, NULL),
                     0);
    find_assignment(out, "flm.cara", id, observer, sizeof(observer));
    /* Reassigning to the disabled observer names the field, changes nothing. */
    {
        char idtxt[UUID_STR_LEN];

        assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err),
                                             "assignment", "reassign", uuid_format(id, idtxt),
                                             "carol", "--data", org->data, NULL),
                         1);
        assert_non_null(strstr(err, "observer_id"));
        assert_non_null(strstr(err, "disabled"));
    }
    snprintf(other, sizeof(other), "%s", strcmp(observer, "alice") == 0 ? "bob" : "alice");
    testutil_server_start(&org->srv, org->data, NULL);

    /* A forged id over TLS: refused naming the field. */
    c = testutil_connect(&org->srv, observer, 0);
    assert_int_equal(uuid_generate(forged), 0);
    testutil_obs_make(&o, "flm.cara", "rep.ida", now - 120);
    o.o.assignment_id.data = forged;
    o.o.assignment_id.len = 16;
    one[0] = &o.o;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_int_not_equal(r.err.code, COACHQ__V1__CODE__OK);
    assert_string_equal(r.err.field, "observation.assignment_id");
    client_free(c);
    /* Another observer naming it: refused. */
    c = testutil_connect(&org->srv, other, 1);
    testutil_obs_make(&o, "flm.cara", "rep.ida", now - 120);
    o.o.assignment_id.data = id;
    o.o.assignment_id.len = 16;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_string_equal(r.err.field, "observation.assignment_id");
    client_free(c);
    /* The assigned observer: stored, and the assignment done by it. */
    c = testutil_connect(&org->srv, observer, 2);
    testutil_obs_make(&o, "flm.cara", "rep.ida", now - 120);
    o.o.assignment_id.data = id;
    o.o.assignment_id.len = 16;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_int_equal(r.err.code, COACHQ__V1__CODE__OK);
    client_free(c);
    testutil_stop_clean(&org->srv);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assignment",
                                         "list", "--all", "--data", org->data, NULL),
                     0);
    {
        char idtxt[UUID_STR_LEN], obstxt[UUID_STR_LEN], want[200];

        snprintf(want, sizeof(want), "%s  done", uuid_format(id, idtxt));
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof(want), "observation %s", uuid_format(o.id, obstxt));
        assert_non_null(strstr(out, want));
    }
}

/* Runs the real client as user against org's server; returns its exit
 * status (expect as testutil_coachq()). */
static int coachq_as(struct testutil_org *org, const char *user, char *out, size_t outlen,
                     int expect, const char *a1, const char *a2, const char *a3, const char *a4,
                     const char *a5)
{
    char server[64], ca[600], cert[600], key[600], rel[128];

    snprintf(server, sizeof(server), "127.0.0.1:%d", org->srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    return testutil_coachq(out, outlen, expect, "--server", server, "--cert", cert, "--key", key,
                           "--ca", ca, a1, a2, a3, a4, a5, NULL);
}

/* A lead draws through the protocol; an observer reads their queue with
 * `coachq assignments`; others are refused. */
static void test_queue_and_draw_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[65536], out2[65536];
    const char *observers_eve[] = {"alice", "bob", "carol", "dave", "obs.ann"};
    size_t listed = 0;

    testutil_org_make(org);
    testutil_server_start(&org->srv, org->data, NULL);
    /* The plan set through the protocol by the lead; refused to others,
     * and a field-naming refusal for a bad one. */
    coachq_as(org, "alice", out, sizeof(out), 1, "plan", NULL, NULL, NULL, NULL);
    coachq_as(org, "slm.eve", out, sizeof(out), 1, "plan", NULL, NULL, NULL, NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "plan", NULL, NULL, NULL, NULL);
    assert_non_null(strstr(out, "no coverage plan is set"));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "plan", "line:flm.cara", "--rubric",
              "coaching-conversation", "--per-month=2");
    assert_non_null(strstr(out, "set_coverage_plan.plan.scope"));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "plan", "line:slm.eve", "--rubric", "nope",
              "--per-month=2");
    assert_non_null(strstr(out, "set_coverage_plan.plan.rubric_id"));
    coachq_as(org, "lead.gil", out, sizeof(out), 2, "plan", "line:slm.eve", "--rubric",
              "coaching-conversation", NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "plan", "line:slm.eve", "--rubric",
              "coaching-conversation", "--per-month=2");
    assert_non_null(strstr(out, "line:slm.eve: set"));
    assert_non_null(strstr(out, "2 per month, rubric coaching-conversation"));
    /* The same plan again, by another: unchanged, the first stamp kept. */
    coachq_as(org, "admin.hal", out, sizeof(out), 0, "plan", "line:slm.eve", "--rubric",
              "coaching-conversation", "--per-month=2");
    assert_non_null(strstr(out, "line:slm.eve: unchanged"));
    coachq_as(org, "admin.hal", out, sizeof(out), 0, "plan", "--json", NULL, NULL, NULL);
    assert_non_null(strstr(out, "\"set_by\": \"lead.gil\""));
    /* Not a lead: refused. */
    coachq_as(org, "alice", out, sizeof(out), 1, "assign", "line:slm.eve", "--seed", "5", NULL);
    coachq_as(org, "slm.eve", out, sizeof(out), 1, "assign", "line:slm.eve", "--seed", "5", NULL);
    /* A dry run twice: the same draw, nothing written. */
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "assign", "line:slm.eve", "--seed", "77",
              "--dry-run");
    coachq_as(org, "lead.gil", out2, sizeof(out2), 0, "assign", "line:slm.eve", "--seed", "77",
              "--dry-run");
    assert_string_equal(out, out2);
    assert_non_null(strstr(out, "dry run, nothing written"));
    assert_non_null(strstr(out, "4 assigned"));
    coachq_as(org, "lead.gil", out2, sizeof(out2), 0, "assignments", "--observer", "*", NULL, NULL);
    assert_non_null(strstr(out2, "0 assignments"));
    /* The draw itself is the dry run's, then written. */
    coachq_as(org, "lead.gil", out2, sizeof(out2), 0, "assign", "line:slm.eve", "--seed", "77",
              NULL);
    assert_string_equal(out2, out + strlen("dry run, nothing written: "));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:nobody", "--seed", "1", NULL);
    assert_non_null(strstr(out, "draw_assignments.plan_scope"));
    /* A period outside the years 2000-2099: refused naming it. */
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:slm.eve", "--period",
              "2100-01-01", NULL);
    assert_non_null(strstr(out, "draw_assignments.period_day"));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:slm.eve", "--period",
              "1999-12-31", NULL);
    assert_non_null(strstr(out, "draw_assignments.period_day"));
    /* Every observer's queue holds only their own; together, the four. */
    for (size_t i = 0; i < sizeof(observers_eve) / sizeof(observers_eve[0]); i++) {
        const char *p;
        char want[100];

        coachq_as(org, observers_eve[i], out, sizeof(out), 0, "assignments", "--json", NULL, NULL,
                  NULL);
        snprintf(want, sizeof(want), "\"observer\": \"%s\"", observers_eve[i]);
        for (p = strstr(out, "\"observer\""); p != NULL; p = strstr(p + 1, "\"observer\"")) {
            assert_int_equal(strncmp(p, want, strlen(want)), 0);
            listed++;
        }
        /* Another observer's queue: refused. */
        coachq_as(org, observers_eve[i], out, sizeof(out), 1, "assignments", "--observer",
                  strcmp(observers_eve[i], "bob") == 0 ? "alice" : "bob", NULL, NULL);
    }
    assert_int_equal(listed, 4);
    coachq_as(org, "flm.cara", out, sizeof(out), 1, "assignments", NULL, NULL, NULL, NULL);
    /* observe --assignment: only one's own open assignment. */
    coachq_as(org, "alice", out, sizeof(out), 2, "observe", "--assignment",
              "0190f5a0-0000-7000-8000-000000000001", NULL, NULL);
    assert_non_null(strstr(out, "not one of your open assignments"));
    coachq_as(org, "alice", out, sizeof(out), 2, "observe", "--assignment", "nope", NULL, NULL);
    coachq_as(org, "alice", out, sizeof(out), 2, "observe", "--resume", "--assignment",
              "0190f5a0-0000-7000-8000-000000000001", NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 2, "assign", NULL, NULL, NULL, NULL);
    testutil_stop_clean(&org->srv);
}

/* A line of more front-line managers than one draw's slots at 31 a month. */
static int big_line(struct store_txn *t, void *arg)
{
    char id[32];
    int rc;

    (void)arg;
    rc = testutil_put_person(t, "slm.big", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    for (unsigned i = 0; rc == 0 && i <= ASSIGN_MAX_SLOTS / ASSIGN_MAX_PER_PERIOD; i++) {
        snprintf(id, sizeof(id), "flm.big%04u", i);
        rc = testutil_put_person(t, id, NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.big");
    }
    return rc;
}

/* A plan larger than one draw handles: FAILED_PRECONDITION naming
 * draw_assignments.plan_scope, not "unavailable". */
static void test_draw_too_large_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[65536];
    struct store *s;

    testutil_org_make(org);
    s = testutil_store_open(org->data, 0);
    assert_int_equal(store_exec(s, big_line, NULL), 0);
    store_close(s);
    testutil_server_start(&org->srv, org->data, NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "plan", "line:slm.big", "--rubric",
              "coaching-conversation", "--per-month=31");
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:slm.big", "--seed", "1", NULL);
    assert_non_null(strstr(out, "draw_assignments.plan_scope"));
    assert_non_null(strstr(out, "larger than one draw"));
    testutil_stop_clean(&org->srv);
}

/* ---- Schema 9 to 10 ------------------------------------------------------- */

/* Turns the closed store in dir back into schema 9: no plan or assignment
 * databases. */
static void make_schema9(const char *dir)
{
    static const char *const dbs[] = {"plans",          "assignments", "asg_draws",  "asg_open",
                                      "asg_by_manager", "asg_due",     "asg_obs_due"};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, dbi;
    MDB_val k, v;
    uint8_t ver[4] = {0, 0, 0, 9};

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    v.mv_data = ver;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        assert_int_equal(mdb_dbi_open(txn, dbs[i], 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_schema9_upgrade(void **state)
{
    struct testutil_org *org = *state;
    static char out[16384], err[4096];

    testutil_org_make(org);
    make_schema9(org->data);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.fay", "--rubric", "coaching-conversation",
                                         "--per-week", "1", "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.fay", "--seed", "1", "--data", org->data, NULL),
                     0);
    assert_non_null(strstr(out, "1 assigned"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);
}

/* ---- Usage errors --------------------------------------------------------- */

static void test_usage_errors(void **state)
{
    struct testutil_org *org = *state;
    static char out[16384], err[4096];

    testutil_org_make(org);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--data", org->data, NULL),
                     2);
    assert_non_null(strstr(err, "scope"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--per-week", "1", "--data", org->data,
                                         NULL),
                     2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:flm.cara", "--rubric",
                                         "coaching-conversation", "--per-month", "1", "--data",
                                         org->data, NULL),
                     1);
    assert_non_null(strstr(err, "not a second-level manager"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "x", "--data", org->data, NULL),
                     2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--data", org->data, NULL),
                     1);
    assert_non_null(strstr(err, "no coverage plan"));
    assert_int_equal(
        testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign", "--help", NULL),
        0);
    assert_non_null(strstr(out, "--seed"));
}

/* ---- The reference dump ----------------------------------------------------- */

/* For every seed 1..n: which observer each manager got, under the plan
 * with every exclusion, no cap and one slot per manager. Prints one line
 * per manager "M eligible o1,o2,... counts c1,c2,..." and per seed the
 * strata counts of a sample of 5. */
static int dump(unsigned long n)
{
    struct plan_args pa = {"programme:p1", 1, 1, 1, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    const char *mgr[12];
    unsigned long cnt[12][6];
    size_t nm = 0;

    memset(cnt, 0, sizeof(cnt));
    assert_int_equal(submit_last(f, "flm.a1", "obs.2"), 0);
    for (size_t i = 0; i < 4; i++) {
        mgr[nm++] = line_a[i];
    }
    for (size_t i = 0; i < 2; i++) {
        mgr[nm++] = line_b[i];
    }
    for (size_t i = 0; i < 6; i++) {
        mgr[nm++] = line_c[i];
    }
    for (unsigned long seed = 1; seed <= n; seed++) {
        struct draw_call d;
        size_t per[3] = {0, 0, 0};

        draw(f->s, "programme:p1", seed, 0, 0, &d);
        for (size_t i = 0; i < d.res.n; i++) {
            for (size_t m = 0; m < nm; m++) {
                for (size_t o = 0; o < 6; o++) {
                    if (strcmp(mgr[m], d.res.asg[i]->manager_id) == 0 &&
                        strcmp(observers[o], d.res.asg[i]->observer_id) == 0) {
                        cnt[m][o]++;
                    }
                }
            }
        }
        assign_draw_result_clear(&d.res);
        draw(f->s, "programme:p1", seed, 5, 0, &d);
        for (size_t i = 0; i < d.res.n; i++) {
            per[d.res.asg[i]->stratum[4] - 'a']++;
        }
        printf("strata %zu %zu %zu\n", per[0], per[1], per[2]);
        assign_draw_result_clear(&d.res);
    }
    for (size_t m = 0; m < nm; m++) {
        printf("manager %s", mgr[m]);
        for (size_t o = 0; o < 6; o++) {
            printf(" %s=%lu", observers[o], cnt[m][o]);
        }
        printf("\n");
    }
    testutil_store_fx_free(f);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_draw),
        cmocka_unit_test(test_strata_balance),
        cmocka_unit_test(test_exclusion_own_line),
        cmocka_unit_test(test_exclusion_own_reports),
        cmocka_unit_test(test_exclusion_last_observed),
        cmocka_unit_test(test_load_cap),
        cmocka_unit_test(test_past_period_reproduced),
        cmocka_unit_test(test_verify_indexes),
        cmocka_unit_test(test_draw_refusals),
        cmocka_unit_test(test_draw_org_today),
        cmocka_unit_test(test_reassign_refuses_disabled_and_uncertified),
        cmocka_unit_test(test_reassign_keeps_exclusions),
        cmocka_unit_test(test_reassign_keeps_load_cap),
        cmocka_unit_test(test_fulfilment),
        cmocka_unit_test(test_far_west_today),
        cmocka_unit_test(test_double_coded_and_cert),
        cmocka_unit_test(test_fulfil_after_unassigned),
        cmocka_unit_test(test_erase_observer),
        cmocka_unit_test_setup_teardown(test_fulfil_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_queue_and_draw_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_draw_too_large_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_schema9_upgrade, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, testutil_org_setup,
                                        testutil_org_teardown),
    };

    if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
        char *end;
        unsigned long n = strtoul(argv[2], &end, 10);

        if (*end != '\0' || n == 0 || n > 1000000) {
            fprintf(stderr, "usage: %s --dump SEEDS\n", argv[0]);
            return 2;
        }
        return dump(n);
    }
    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
