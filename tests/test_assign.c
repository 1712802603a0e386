/*
 * test_assign: the observation programme's coverage plans and the draw of
 * assignments (store/assign.h). The draw is reproducible from its seed
 * byte for byte and another seed differs; every line gets its proportional
 * share of a sample; no exclusion, load cap, disabled or uncertified
 * observer is ever broken over many seeds, nor by a reassignment; `coachqd
 * verify` finds damage to the assignment indexes. Fulfilment, erasure and
 * the verbs over real TLS are test_assign_fulfil.c; the organisation and
 * the draw both use are testutil_assign.c.
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
#include "testutil_assign.h"
#include "uuid.h"
#include "zone.h"

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
