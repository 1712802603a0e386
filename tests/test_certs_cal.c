/* Tests of store/certs.c and store/certs_cal.c, calibration: scoring an
 * observer's attempts at calibration references against the master scores,
 * the exam's limits, a full map and the batch's memo on the way, and
 * calibration as the UI runs it. The records themselves are test_certs.c;
 * the fixture and the record helpers both share are testutil_certs.c. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "certs.h"
#include "certs_cal.h"
#include "keys.h"
#include "rubrics.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "testutil_certs.h"

/* ---- Calibration ------------------------------------------------------- */

/* Stores an observer's attempt at a reference (scores 1..4, 0 for not
 * applicable) the way the server does, received at at_ms. */
static void submit_attempt(struct fixture *f, uint8_t n, const struct tref *ref,
                           const char *observer, const int scores[NB], int64_t at_ms)
{
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;
    Coachq__V1__Rating rt[NB];
    Coachq__V1__Rating *rp[NB];
    struct store_write w;
    uint8_t id[16];
    uint8_t *buf;
    size_t len;

    make_id(id, n);
    id[1] = 0xa7; /* attempts and references never share ids */
    o.id.data = id;
    o.id.len = 16;
    o.rubric_id = ref->r.rubric_id;
    o.rubric_version = 1;
    o.coach_id = (char *)"ref-coach";
    o.coachee_id = (char *)"ref-rep";
    o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    o.started_at = at_ms / 1000 - 3600;
    o.duration_s = 1800;
    for (size_t i = 0; i < NB; i++) {
        Coachq__V1__Rating r = COACHQ__V1__RATING__INIT;

        rt[i] = r;
        rt[i].behaviour_id = (char *)BIDS[i];
        rt[i].score = (uint32_t)scores[i];
        rt[i].not_applicable = scores[i] == 0;
        rp[i] = &rt[i];
    }
    o.n_ratings = NB;
    o.ratings = rp;
    o.calibration_ref.data = (uint8_t *)ref->id;
    o.calibration_ref.len = 16;
    len = coachq__v1__observation__get_packed_size(&o);
    buf = malloc(len);
    assert_non_null(buf);
    coachq__v1__observation__pack(&o, buf);

    memset(&w, 0, sizeof(w));
    w.obs = buf;
    w.obs_len = len;
    w.observer_id = observer;
    w.received_at_ms = at_ms;
    assert_int_equal(store_submit(f->s, &w), 0);
    store_drain(f->s);
    assert_ptr_equal(store_completed_take(f->s), &w);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.result, STORE_STORED);
    free(buf);
}

struct cal {
    const char *observer;
    uint8_t ref[16];
    uint8_t obs[16];
    int64_t at_ms;
    const struct store_policy *policy;
    Coachq__V1__CalibrationResult *result;
};

/* Writer thread. It may run more than once: the result is made afresh. */
static int cal_fn(struct store_txn *t, void *arg)
{
    struct cal *c = arg;

    coachq__v1__calibration_result__free_unpacked(c->result, NULL);
    c->result = NULL;
    return certs_calibrate(t, c->observer, c->ref, c->obs, c->at_ms, c->policy, &c->result);
}

/* Scores attempt n (see submit_attempt()) at ref. Returns the store's
 * answer; *res is the caller's (NULL on failure). */
static int calibrate(struct fixture *f, const char *observer, const struct tref *ref, uint8_t n,
                     int64_t at_ms, Coachq__V1__CalibrationResult **res)
{
    struct cal c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.observer = observer;
    memcpy(c.ref, ref->id, 16);
    make_id(c.obs, n);
    c.obs[1] = 0xa7;
    c.at_ms = at_ms;
    c.policy = &f->policy;
    rc = store_exec(f->s, cal_fn, &c);
    *res = c.result;
    return rc;
}

/* A stored result, copied out of the listing. */
struct tresult {
    char observer[72];
    char rubric[72];
    char reason[512];
    uint32_t n;
    uint32_t sessions;
    double exact;
    double within_one;
    double kappa;
    int passed;
    int64_t at_ms;
};

struct results {
    const char *observer;
    struct tresult r[8];
    size_t n;
};

static int result_seen_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct results *rs = arg;
    struct tresult *t;

    if (rs->n >= 8) {
        return -ENOBUFS;
    }
    t = &rs->r[rs->n++];
    snprintf(t->observer, sizeof(t->observer), "%s", r->observer_id);
    snprintf(t->rubric, sizeof(t->rubric), "%s", r->rubric_id);
    snprintf(t->reason, sizeof(t->reason), "%s", r->reason);
    t->n = r->n;
    t->sessions = r->sessions;
    t->exact = r->exact;
    t->within_one = r->within_one;
    t->kappa = r->kappa;
    t->passed = r->passed;
    t->at_ms = r->at_ms;
    return 0;
}

static int list_results_fn(struct store_txn *t, void *arg)
{
    struct results *rs = arg;

    return certs_results(t, rs->observer, result_seen_cb, rs);
}

static void list_results(struct fixture *f, const char *observer, struct results *rs)
{
    memset(rs, 0, sizeof(*rs));
    rs->observer = observer;
    assert_int_equal(store_view(f->s, list_results_fn, rs), 0);
}

struct audit_seen {
    char subject[8][160];
    char detail[8][400];
    char actor[8][72];
    char origin[8][72];
    size_t n;
};

static int audit_seen_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_seen *a = arg;

    if (strcmp(e->action, "cert.grant") != 0) {
        return 0;
    }
    if (a->n >= 8) {
        return -ENOBUFS;
    }
    snprintf(a->subject[a->n], sizeof(a->subject[0]), "%s", e->subject);
    snprintf(a->detail[a->n], sizeof(a->detail[0]), "%s", e->detail);
    snprintf(a->actor[a->n], sizeof(a->actor[0]), "%s", e->actor);
    snprintf(a->origin[a->n], sizeof(a->origin[0]), "%s", e->origin);
    a->n++;
    return 0;
}

static int audit_fn(struct store_txn *t, void *arg)
{
    return audit_list(t, 0, audit_seen_cb, arg);
}

static void put_ref(struct fixture *f, struct tref *r)
{
    assert_int_equal(store_exec(f->s, put_ref_fn, &r->r), 0);
}

/*
 * The scores these tests use, against MASTER = 1,2,2,3,3,3,3,4,4,4. Kappa
 * with quadratic weights is 1 - N * sum (a-b)^2 / sum_ij (a_i - b_j)^2, and
 * the denominator is N * sum a^2 + N * sum b^2 - 2 * (sum a)(sum b). For
 * the master: sum a = 29, sum a^2 = 93.
 *
 * GOOD = 1,2,2,3,3,3,3,4,4,3: one pair (4, 3) differs by one point.
 *   exact 9/10 = 0.9, within one 10/10 = 1.0,
 *   sum b = 28, sum b^2 = 86, denominator 930 + 860 - 2 * 29 * 28 = 166,
 *   kappa = 1 - 10 * 1 / 166 = 78/83 = 0.93976.
 *
 * POOR = 2,3,1,3,4,2,3,3,2,4: exact on b4, b7, b10 only; (4, 2) differs by
 *   two, the six others by one.
 *   exact 3/10 = 0.3, within one 9/10 = 0.9, sum (a-b)^2 = 6 + 4 = 10,
 *   sum b = 27, sum b^2 = 81, denominator 930 + 810 - 2 * 29 * 27 = 174,
 *   kappa = 1 - 10 * 10 / 174 = 37/87 = 0.42529.
 */
static const int GOOD[NB] = {1, 2, 2, 3, 3, 3, 3, 4, 4, 3};
static const int POOR[NB] = {2, 3, 1, 3, 4, 2, 3, 3, 2, 4};

static void test_calibration_pass(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__CalibrationResult *res = NULL;
    struct valid_on v = {.observer = "alice", .rubric = "coaching", .day = DAY0, .want_last = 1};
    struct audit_seen audit;
    struct list_certs l;
    struct results rs;
    struct tref r1;

    tref_init(&r1, 1, "coaching", MASTER, "Deal review, Globex");
    put_ref(f, &r1);
    submit_attempt(f, 1, &r1, "alice", GOOD, T0_MS);
    assert_int_equal(calibrate(f, "alice", &r1, 1, T0_MS, &res), 0);
    assert_non_null(res);
    assert_true(res->passed);
    assert_string_equal(res->reason, "");
    assert_string_equal(res->observer_id, "alice");
    assert_string_equal(res->rubric_id, "coaching");
    assert_int_equal(res->n, 10);
    assert_int_equal(res->sessions, 1);
    assert_float_equal(res->exact, 0.9, 1e-12);
    assert_float_equal(res->within_one, 1.0, 1e-12);
    assert_float_equal(res->kappa, 78.0 / 83.0, 1e-12);
    assert_true(res->at_ms == T0_MS);
    coachq__v1__calibration_result__free_unpacked(res, NULL);

    /* The result is kept as returned. */
    list_results(f, "alice", &rs);
    assert_int_equal(rs.n, 1);
    assert_true(rs.r[0].passed);
    assert_int_equal(rs.r[0].n, 10);
    assert_int_equal(rs.r[0].sessions, 1);
    assert_float_equal(rs.r[0].exact, 0.9, 1e-12);
    assert_float_equal(rs.r[0].within_one, 1.0, 1e-12);
    assert_float_equal(rs.r[0].kappa, 78.0 / 83.0, 1e-12);
    assert_true(rs.r[0].at_ms == T0_MS);

    /* A certification from that day for cert_days days (365: until
     * 2025-06-09 inclusive), with the figures. */
    assert_int_equal(store_view(f->s, valid_on_fn, &v), 0);
    assert_non_null(v.out);
    assert_int_equal(v.out->valid_from_day, DAY0);
    assert_int_equal(v.out->valid_until_day, DAY0 + 364);
    assert_string_equal(v.out->granted_by, "calibration");
    assert_int_equal(v.out->n, 10);
    assert_float_equal(v.out->exact, 0.9, 1e-12);
    assert_float_equal(v.out->within_one, 1.0, 1e-12);
    assert_float_equal(v.out->kappa, 78.0 / 83.0, 1e-12);
    assert_true(v.out->granted_at_ms == T0_MS);
    coachq__v1__certification__free_unpacked(v.out, NULL);
    check_valid_on(f, "alice", "coaching", DAY0 + 364, DAY0, DAY0 + 364, 0);
    check_valid_on(f, "alice", "coaching", DAY0 + 365, 0, 0, DAY0 + 364);
    check_valid_on(f, "alice", "coaching", DAY0 - 1, 0, 0, DAY0 + 364);

    memset(&audit, 0, sizeof(audit));
    assert_int_equal(store_view(f->s, audit_fn, &audit), 0);
    assert_int_equal(audit.n, 1);
    assert_string_equal(audit.subject[0], "alice/coaching");
    assert_string_equal(audit.detail[0],
                        "by calibration: exact=0.90, kappa=0.94, until 2025-06-09");
    assert_string_equal(audit.actor[0], "alice");
    assert_string_equal(audit.origin[0], "calibration");

    /* Passing again while certified keeps the certification as it is. */
    submit_attempt(f, 2, &r1, "alice", MASTER, T0_MS + 30 * DAY_MS);
    assert_int_equal(calibrate(f, "alice", &r1, 2, T0_MS + 30 * DAY_MS, &res), 0);
    assert_true(res->passed);
    assert_float_equal(res->exact, 1.0, 1e-12);
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    list_certs(f, "alice", &l);
    assert_int_equal(l.seen.n, 1);
    list_results(f, "alice", &rs);
    assert_int_equal(rs.n, 2);
    memset(&audit, 0, sizeof(audit));
    assert_int_equal(store_view(f->s, audit_fn, &audit), 0);
    assert_int_equal(audit.n, 1);

    /* An unknown reference: nothing is scored or stored. */
    make_id(r1.id, 77);
    assert_int_equal(calibrate(f, "alice", &r1, 2, T0_MS + 31 * DAY_MS, &res), -ENOENT);
    assert_null(res);
    list_results(f, "alice", &rs);
    assert_int_equal(rs.n, 2);
}

static void test_calibration_poor_then_better(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__CalibrationResult *res = NULL;
    struct audit_seen audit;
    struct list_certs l;
    struct results rs;
    struct tref r1;

    tref_init(&r1, 1, "coaching", MASTER, "Deal review, Globex");
    put_ref(f, &r1);
    submit_attempt(f, 1, &r1, "bob", POOR, T0_MS);
    assert_int_equal(calibrate(f, "bob", &r1, 1, T0_MS, &res), 0);
    assert_non_null(res);
    assert_false(res->passed);
    assert_int_equal(res->n, 10);
    assert_int_equal(res->sessions, 1);
    assert_float_equal(res->exact, 0.3, 1e-12);
    assert_float_equal(res->within_one, 0.9, 1e-12);
    assert_float_equal(res->kappa, 37.0 / 87.0, 1e-12);
    assert_string_equal(res->reason,
                        "exact agreement 30% is below the 80% required; weighted kappa 0.42 is "
                        "below 0.70");
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    list_certs(f, "bob", &l);
    assert_int_equal(l.seen.n, 0);
    check_valid_on(f, "bob", "coaching", DAY0, 0, 0, 0);

    /* A better second attempt at the same reference replaces the first:
     * still 10 pairs from one session, not 20 from two. */
    submit_attempt(f, 2, &r1, "bob", GOOD, T0_MS + 2 * DAY_MS);
    assert_int_equal(calibrate(f, "bob", &r1, 2, T0_MS + 2 * DAY_MS, &res), 0);
    assert_true(res->passed);
    assert_int_equal(res->n, 10);
    assert_int_equal(res->sessions, 1);
    assert_float_equal(res->exact, 0.9, 1e-12);
    assert_float_equal(res->kappa, 78.0 / 83.0, 1e-12);
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    check_valid_on(f, "bob", "coaching", DAY0 + 2, DAY0 + 2, DAY0 + 2 + 364, 0);
    check_valid_on(f, "bob", "coaching", DAY0 + 1, 0, 0, DAY0 + 2 + 364);

    /* Both results are kept, oldest first. */
    list_results(f, "bob", &rs);
    assert_int_equal(rs.n, 2);
    assert_false(rs.r[0].passed);
    assert_true(rs.r[0].at_ms == T0_MS);
    assert_string_equal(rs.r[0].reason, "exact agreement 30% is below the 80% required; weighted "
                                        "kappa 0.42 is below 0.70");
    assert_true(rs.r[1].passed);
    assert_true(rs.r[1].at_ms == T0_MS + 2 * DAY_MS);
    memset(&audit, 0, sizeof(audit));
    assert_int_equal(store_view(f->s, audit_fn, &audit), 0);
    assert_int_equal(audit.n, 1);
    assert_string_equal(audit.subject[0], "bob/coaching");

    /* And a worse third attempt replaces the better one again. */
    submit_attempt(f, 3, &r1, "bob", POOR, T0_MS + 3 * DAY_MS);
    assert_int_equal(calibrate(f, "bob", &r1, 3, T0_MS + 3 * DAY_MS, &res), 0);
    assert_false(res->passed);
    assert_int_equal(res->n, 10);
    assert_float_equal(res->exact, 0.3, 1e-12);
    coachq__v1__calibration_result__free_unpacked(res, NULL);
}

/*
 * Two references of one rubric, each with five master scores and five not
 * applicable, pool their pairs; the observer also marks one behaviour not
 * applicable. Pairs: (1,1) (2,2) (2,2) (3,3) (3,3) from RA, then from RB
 * (b6 skipped) (3,3) (4,4) (4,4) (4,3): N = 9, exact 8/9, within one 9/9.
 * Masters: sum a = 26, sum a^2 = 84; observer: sum b = 25, sum b^2 = 77;
 * denominator 9 * 84 + 9 * 77 - 2 * 26 * 25 = 149; sum (a-b)^2 = 1;
 * kappa = 1 - 9 / 149 = 140/149 = 0.93960.
 */
static void test_calibration_pooled(void **state)
{
    struct fixture *f = *state;
    static const int ra_master[NB] = {1, 2, 2, 3, 3, 0, 0, 0, 0, 0};
    static const int rb_master[NB] = {0, 0, 0, 0, 0, 3, 3, 4, 4, 4};
    static const int rc_master[NB] = {1, 2, 3, 4, 1, 2, 3, 4, 0, 0};
    static const int ra_attempt[NB] = {1, 2, 2, 3, 3, 2, 2, 2, 2, 2};
    static const int rb_attempt[NB] = {0, 0, 0, 0, 0, 0, 3, 4, 4, 3};
    Coachq__V1__CalibrationResult *res = NULL;
    struct list_certs l;
    struct results rs;
    struct tref ra, rb, rc, r1;

    tref_init(&ra, 1, "coaching", ra_master, "RA");
    tref_init(&rb, 2, "coaching", rb_master, "RB");
    tref_init(&rc, 3, "calls", rc_master, "RC");
    tref_init(&r1, 4, "coaching", MASTER, "R1");
    put_ref(f, &ra);
    put_ref(f, &rb);
    put_ref(f, &rc);
    put_ref(f, &r1);

    /* Five pairs are too few on their own. */
    submit_attempt(f, 1, &ra, "carol", ra_attempt, T0_MS);
    assert_int_equal(calibrate(f, "carol", &ra, 1, T0_MS, &res), 0);
    assert_false(res->passed);
    assert_int_equal(res->n, 5);
    assert_int_equal(res->sessions, 1);
    assert_float_equal(res->exact, 1.0, 1e-12);
    assert_string_equal(res->reason, "only 5 rating pairs compared; 8 needed \xe2\x80\x94 score "
                                     "another reference session");
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    list_certs(f, "carol", &l);
    assert_int_equal(l.seen.n, 0);

    /* Another rubric's reference does not pool with this one. */
    submit_attempt(f, 2, &rc, "carol", rc_master, T0_MS + 1000);
    assert_int_equal(calibrate(f, "carol", &rc, 2, T0_MS + 1000, &res), 0);
    assert_true(res->passed);
    assert_string_equal(res->rubric_id, "calls");
    assert_int_equal(res->n, 8);
    assert_int_equal(res->sessions, 1);
    coachq__v1__calibration_result__free_unpacked(res, NULL);

    submit_attempt(f, 3, &rb, "carol", rb_attempt, T0_MS + 2000);
    assert_int_equal(calibrate(f, "carol", &rb, 3, T0_MS + 2000, &res), 0);
    assert_true(res->passed);
    assert_string_equal(res->rubric_id, "coaching");
    assert_int_equal(res->n, 9);
    assert_int_equal(res->sessions, 2);
    assert_float_equal(res->exact, 8.0 / 9.0, 1e-12);
    assert_float_equal(res->within_one, 1.0, 1e-12);
    assert_float_equal(res->kappa, 140.0 / 149.0, 1e-12);
    coachq__v1__calibration_result__free_unpacked(res, NULL);

    /* dave, scored last, sorts first by key ("dave" is shorter). */
    submit_attempt(f, 4, &r1, "dave", POOR, T0_MS + 3000);
    assert_int_equal(calibrate(f, "dave", &r1, 4, T0_MS + 3000, &res), 0);
    assert_false(res->passed);
    coachq__v1__calibration_result__free_unpacked(res, NULL);

    /* Results in time order across rubrics (the keys run by rubric). */
    list_results(f, "carol", &rs);
    assert_int_equal(rs.n, 3);
    assert_string_equal(rs.r[0].rubric, "coaching");
    assert_int_equal(rs.r[0].n, 5);
    assert_string_equal(rs.r[1].rubric, "calls");
    assert_string_equal(rs.r[2].rubric, "coaching");
    assert_int_equal(rs.r[2].n, 9);
    assert_int_equal(rs.r[2].sessions, 2);

    /* And across observers. */
    list_results(f, NULL, &rs);
    assert_int_equal(rs.n, 4);
    assert_string_equal(rs.r[0].observer, "carol");
    assert_true(rs.r[0].at_ms == T0_MS);
    assert_true(rs.r[2].at_ms == T0_MS + 2000);
    assert_string_equal(rs.r[3].observer, "dave");
    assert_true(rs.r[3].at_ms == T0_MS + 3000);

    list_results(f, "dave", &rs);
    assert_int_equal(rs.n, 1);
    list_results(f, "nobody", &rs);
    assert_int_equal(rs.n, 0);

    /* Certifications by rubric: calls, then coaching. */
    list_certs(f, "carol", &l);
    assert_int_equal(l.seen.n, 2);
    assert_string_equal(l.seen.item[0], "carol/calls 19884..20248 calibration");
    assert_string_equal(l.seen.item[1], "carol/coaching 19884..20248 calibration");
}

/* Not applicable on either side is no pair: with every master score N/A
 * nothing is compared. */
static void test_calibration_no_pairs(void **state)
{
    struct fixture *f = *state;
    static const int all_na[NB] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    Coachq__V1__CalibrationResult *res = NULL;
    struct list_certs l;
    struct tref r;

    tref_init(&r, 1, "coaching", all_na, "Nothing to score");
    put_ref(f, &r);
    submit_attempt(f, 1, &r, "erin", MASTER, T0_MS);
    assert_int_equal(calibrate(f, "erin", &r, 1, T0_MS, &res), 0);
    assert_false(res->passed);
    assert_int_equal(res->n, 0);
    assert_int_equal(res->sessions, 1);
    assert_non_null(strstr(res->reason, "no rating pairs compared; 8 needed"));
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    list_certs(f, "erin", &l);
    assert_int_equal(l.seen.n, 0);
}

/*
 * Master scores in one category (issue 11, "Undefined kappa shown as
 * 1.00"): kappa is 0/0 when the observer agrees, and 0 by construction when
 * they do not, so it is undefined, never 1.00; exact agreement alone
 * decides, and the reason and the certification say so.
 */
static void test_calibration_one_category(void **state)
{
    struct fixture *f = *state;
    static const int all3[NB] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    static const int one_off[NB] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 2};
    static const int three_off[NB] = {3, 3, 3, 3, 3, 3, 3, 2, 2, 2};
    Coachq__V1__CalibrationResult *res = NULL;
    struct valid_on v = {.observer = "alice", .rubric = "coaching", .day = DAY0, .want_last = 1};
    struct tref r;

    tref_init(&r, 1, "coaching", all3, "All proficient");
    put_ref(f, &r);

    /* Full agreement: both in one category, 0/0. */
    submit_attempt(f, 1, &r, "alice", all3, T0_MS);
    assert_int_equal(calibrate(f, "alice", &r, 1, T0_MS, &res), 0);
    assert_true(res->passed);
    assert_true(res->kappa_undefined);
    assert_true(isnan(res->kappa));
    assert_non_null(strstr(res->reason, "kappa is undefined"));
    assert_non_null(strstr(res->reason, "exact agreement alone decided"));
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    assert_int_equal(store_view(f->s, valid_on_fn, &v), 0);
    assert_non_null(v.out);
    assert_true(v.out->kappa_undefined);
    assert_true(isnan(v.out->kappa));
    assert_float_equal(v.out->exact, 1.0, 1e-12);
    coachq__v1__certification__free_unpacked(v.out, NULL);

    /* 90% exact against a one-category master: kappa would be 0 by
     * construction; exact agreement decides, and it passes. */
    submit_attempt(f, 2, &r, "bob", one_off, T0_MS);
    assert_int_equal(calibrate(f, "bob", &r, 2, T0_MS, &res), 0);
    assert_true(res->passed);
    assert_true(res->kappa_undefined);
    assert_float_equal(res->exact, 0.9, 1e-12);
    coachq__v1__calibration_result__free_unpacked(res, NULL);

    /* 70% exact fails on exact agreement, and says only that. */
    submit_attempt(f, 3, &r, "carol", three_off, T0_MS);
    assert_int_equal(calibrate(f, "carol", &r, 3, T0_MS, &res), 0);
    assert_false(res->passed);
    assert_true(res->kappa_undefined);
    assert_non_null(strstr(res->reason, "exact agreement 70% is below the 80% required"));
    assert_null(strstr(res->reason, "kappa 0"));
    coachq__v1__calibration_result__free_unpacked(res, NULL);
}

struct exam_arg {
    const char *observer;
    const uint8_t *ref;
    uint8_t obs[16];
    int64_t at_ms;
    const struct store_policy *policy;
    struct certs_exam e;
};

static int exam_log_fn(struct store_txn *t, void *arg)
{
    struct exam_arg *a = arg;

    return certs_exam_log(t, a->observer, a->ref, a->obs, a->at_ms);
}

static int exam_state_fn(struct store_txn *t, void *arg)
{
    struct exam_arg *a = arg;

    return certs_exam_state(t, a->observer, a->ref, a->at_ms, a->policy, &a->e);
}

/* The exam's limits on the clock: a cool-down after each attempt, and at
 * most cert_attempts attempts at one reference in any cert_window_days. */
static void test_exam_limits(void **state)
{
    struct fixture *f = *state;
    const int64_t hour = 3600 * 1000;
    struct exam_arg a;
    uint8_t ref[16];
    uint8_t other[16];

    make_id(ref, 1);
    make_id(other, 2);
    memset(&a, 0, sizeof(a));
    a.observer = "alice";
    a.ref = ref;
    a.policy = &f->policy;
    assert_int_equal(f->policy.cert_attempts, 3);
    assert_int_equal(f->policy.cert_window_days, 30);
    assert_true(f->policy.cert_cooldown_s == 24 * 3600);

    /* Nothing attempted: now. */
    a.at_ms = T0_MS;
    assert_int_equal(store_view(f->s, exam_state_fn, &a), 0);
    assert_int_equal(a.e.in_window, 0);
    assert_true(a.e.next_ms == 0);

    make_id(a.obs, 10);
    a.at_ms = T0_MS;
    assert_int_equal(store_exec(f->s, exam_log_fn, &a), 0);
    /* An hour later: the cool-down holds until 24 h after the attempt. */
    a.at_ms = T0_MS + hour;
    assert_int_equal(store_view(f->s, exam_state_fn, &a), 0);
    assert_int_equal(a.e.in_window, 1);
    assert_true(a.e.cooling);
    assert_true(a.e.next_ms == T0_MS + 24 * hour);
    /* Another reference is not affected. */
    a.ref = other;
    assert_int_equal(store_view(f->s, exam_state_fn, &a), 0);
    assert_true(a.e.next_ms == 0);
    a.ref = ref;

    make_id(a.obs, 11);
    a.at_ms = T0_MS + 2 * DAY_MS;
    assert_int_equal(store_exec(f->s, exam_log_fn, &a), 0);
    make_id(a.obs, 12);
    a.at_ms = T0_MS + 4 * DAY_MS;
    assert_int_equal(store_exec(f->s, exam_log_fn, &a), 0);
    /* Three in the window: the next once the first leaves it. */
    a.at_ms = T0_MS + 6 * DAY_MS;
    assert_int_equal(store_view(f->s, exam_state_fn, &a), 0);
    assert_int_equal(a.e.in_window, 3);
    assert_false(a.e.cooling);
    assert_true(a.e.next_ms == T0_MS + 30 * DAY_MS);
    a.at_ms = T0_MS + 30 * DAY_MS + 1;
    assert_int_equal(store_view(f->s, exam_state_fn, &a), 0);
    assert_int_equal(a.e.in_window, 2);
    assert_true(a.e.next_ms == 0);
}

/* The attempt must be the observer's record of that reference. */
static void test_calibration_wrong_attempt(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__CalibrationResult *res = NULL;
    struct results rs;
    struct tref r1, r2;

    tref_init(&r1, 1, "coaching", MASTER, "R1");
    tref_init(&r2, 2, "coaching", MASTER, "R2");
    put_ref(f, &r1);
    put_ref(f, &r2);
    submit_attempt(f, 1, &r1, "frank", GOOD, T0_MS);
    /* Somebody else's record. */
    assert_int_equal(calibrate(f, "gina", &r1, 1, T0_MS, &res), -EINVAL);
    assert_null(res);
    /* A record of another reference. */
    assert_int_equal(calibrate(f, "frank", &r2, 1, T0_MS, &res), -EINVAL);
    /* No record at all. */
    assert_int_equal(calibrate(f, "frank", &r1, 9, T0_MS, &res), -ENOENT);
    list_results(f, NULL, &rs);
    assert_int_equal(rs.n, 0);
}

/* ---- A full map -------------------------------------------------------- */

/* Reopens the fixture's store in a fresh directory with a map of map_size
 * bytes that may grow to map_max. */
static void reopen_small(struct fixture *f, size_t map_size, size_t map_max)
{
    struct store_opts opts;

    store_close(f->s);
    f->s = NULL;
    testutil_rmrf(f->dir);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    memset(&opts, 0, sizeof(opts));
    opts.map_size = map_size;
    opts.map_size_max = map_max;
    opts.policy = &f->policy;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
}

/*
 * A put that does not fit the map comes back from the writer as -ENOSPC
 * only if every function passed the store's abort code on unchanged (any
 * other code would be answered as that function's own failure).
 */
static void test_map_full_passes_through(void **state)
{
    struct fixture *f = *state;
    const size_t big = (size_t)2 << 20;
    char *text = malloc(big + 1);
    Coachq__V1__CalibrationResult *res = NULL;
    Coachq__V1__Rubric *got = NULL;
    Coachq__V1__Certification c;
    struct store_stats st;
    struct trubric tr;
    struct results rs;
    struct tref r1;
    int changed;
    int rc;

    assert_non_null(text);
    memset(text, 'x', big);
    text[big] = '\0';

    /* A map of 1 MiB that cannot grow. */
    reopen_small(f, (size_t)1 << 20, (size_t)1 << 20);
    trubric_init(&tr, "huge", 1, NB, "Huge");
    tr.r.description = text;
    assert_int_equal(put_rubric(f, &tr.r, &changed), -ENOSPC);
    assert_int_equal(get_rubric(f, "huge", 0, &got), -ENOENT);
    assert_null(got);
    cert_init(&c, "alice", "coaching", 1, 2);
    c.granted_by = text;
    assert_int_equal(store_exec(f->s, put_cert_fn, &c), -ENOSPC);
    tref_init(&r1, 1, "coaching", MASTER, "R1");
    r1.r.title = text;
    assert_int_equal(store_exec(f->s, put_ref_fn, &r1.r), -ENOSPC);

    /* Calibration: fill the map with ever smaller rubric versions until
     * not even a small one fits; scoring an attempt then needs more pages
     * than the last filler did. */
    tref_init(&r1, 1, "coaching", MASTER, "R1");
    put_ref(f, &r1);
    submit_attempt(f, 1, &r1, "alice", GOOD, T0_MS);
    trubric_init(&tr, "filler", 1, 1, "Filler");
    for (size_t chunk = 16384; chunk >= 64; chunk /= 4) {
        text[chunk] = '\0';
        tr.r.description = text;
        do {
            tr.r.version++;
            rc = put_rubric(f, &tr.r, &changed);
        } while (rc == 0);
        assert_int_equal(rc, -ENOSPC);
    }
    assert_int_equal(calibrate(f, "alice", &r1, 1, T0_MS, &res), -ENOSPC);
    assert_null(res);
    list_results(f, "alice", &rs);
    assert_int_equal(rs.n, 0);

    /* A map that may grow: the put is retried in a bigger map. */
    reopen_small(f, (size_t)1 << 20, (size_t)16 << 20);
    memset(text, 'x', big);
    trubric_init(&tr, "huge", 1, NB, "Huge");
    tr.r.description = text;
    assert_int_equal(put_rubric(f, &tr.r, &changed), 0);
    /* Set afresh by the retry: the aborted attempt stored nothing. */
    assert_int_equal(changed, 1);
    store_get_stats(f->s, &st);
    assert_true(st.map_grows >= 1);
    assert_int_equal(put_rubric(f, &tr.r, &changed), 0);
    assert_int_equal(changed, 0);
    free(text);
}

/* ---- The batch's memo (store/memo.c) ------------------------------------ */

static int memo_put_carol_fn(struct store_txn *t, void *arg)
{
    Coachq__V1__Certification c;

    (void)arg;
    cert_init(&c, "carol", "coaching", 100, 199);
    return certs_put(t, &c);
}

/* The memo's answers, step by step, against what the transaction holds;
 * returns 0 or the number of the first step that went wrong. Writer
 * thread: no cmocka assertions here. */
static int memo_steps(struct store_txn *t)
{
    struct trubric r1, r2;
    Coachq__V1__Certification c;
    const Coachq__V1__Rubric *r = NULL;
    Coachq__V1__Rubric *own = NULL;
    struct keys_buf k;
    int changed;
    int fn_rc = -1;

    /* Nothing yet: a refusal is remembered... */
    if (store_txn_memo_certified(t, "alice", "coaching", 150) != -ENOENT) {
        return 1;
    }
    /* ...and forgotten when a certification is written. */
    cert_init(&c, "alice", "coaching", 100, 199);
    if (certs_put(t, &c) != 0 || store_txn_memo_certified(t, "alice", "coaching", 150) != 0 ||
        store_txn_memo_certified(t, "alice", "coaching", 150) != 0) {
        return 2;
    }
    /* Another day, observer or rubric is another question. */
    if (store_txn_memo_certified(t, "alice", "coaching", 250) != -ENOENT ||
        store_txn_memo_certified(t, "bob", "coaching", 150) != -ENOENT ||
        store_txn_memo_certified(t, "alice", "calls", 150) != -ENOENT ||
        store_txn_memo_certified(t, "alice", "coaching", 150) != 0) {
        return 3;
    }
    /* Deleting it is a write too. */
    keys_buf_reset(&k);
    keys_buf_id(&k, "alice");
    keys_buf_id(&k, "coaching");
    keys_buf_day(&k, 100);
    if (k.err != 0 || store_txn_del(t, t->s->dbi_certs, k.b, k.len) != 0 ||
        store_txn_memo_certified(t, "alice", "coaching", 150) != -ENOENT) {
        return 4;
    }
    /* A nested transaction's writes (a store_exec() function in the batch)
     * empty the parent's memo before they run. */
    if (store_txn_memo_certified(t, "carol", "coaching", 150) != -ENOENT ||
        store_txn_nested(t, memo_put_carol_fn, NULL, &fn_rc) != 0 || fn_rc != 0 ||
        store_txn_memo_certified(t, "carol", "coaching", 150) != 0) {
        return 5;
    }
    /* Rubrics: by id and version, replaced when another is asked for. */
    if (store_txn_memo_rubric(t, "memo-r", 1, &r, &own) != -ENOENT) {
        return 6;
    }
    trubric_init(&r1, "memo-r", 1, 3, "Memo");
    trubric_init(&r2, "memo-r", 2, 4, "Memo");
    if (rubrics_put(t, &r1.r, &changed) != 0 ||
        store_txn_memo_rubric(t, "memo-r", 1, &r, &own) != 0 || r == NULL || r->version != 1 ||
        own != NULL || store_txn_memo_rubric(t, "memo-r", 2, &r, &own) != -ENOENT) {
        return 7;
    }
    if (rubrics_put(t, &r2.r, &changed) != 0 ||
        store_txn_memo_rubric(t, "memo-r", 2, &r, &own) != 0 || r->version != 2 ||
        r->n_behaviours != 4 || store_txn_memo_rubric(t, "memo-r", 1, &r, &own) != 0 ||
        r->version != 1 || r->n_behaviours != 3 ||
        store_txn_memo_rubric(t, "memo-x", 1, &r, &own) != -ENOENT) {
        return 8;
    }
    return 0;
}

static void test_batch_memo(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(testutil_memo_steps(f->s, memo_steps), 0);
}

/* ---- Calibration in the UI (certs_cal.h) ------------------------------ */

struct reveal {
    const char *observer;
    const uint8_t *ref;
    int64_t now_ms;
    const struct store_policy *policy;
    Coachq__V1__CalibrationAnswer *out;
    int spent;
    int with_retired;
    size_t listed;
    int listed_spent;
};

static int reveal_fn(struct store_txn *t, void *arg)
{
    struct reveal *r = arg;

    coachq__v1__calibration_answer__free_unpacked(r->out, NULL);
    r->out = NULL;
    return certs_reveal(t, r->observer, r->ref, r->now_ms, r->policy, &r->out);
}

static int spent_fn(struct store_txn *t, void *arg)
{
    struct reveal *r = arg;

    return certs_ref_spent(t, r->observer, r->ref, &r->spent);
}

static int retire_fn(struct store_txn *t, void *arg)
{
    struct reveal *r = arg;

    return certs_reference_retire(t, r->ref, r->now_ms, NULL);
}

static int summary_cb(const Coachq__V1__ReferenceSummary *s, void *arg)
{
    struct reveal *r = arg;

    r->listed++;
    r->listed_spent += s->spent;
    return 0;
}

static int summaries_fn(struct store_txn *t, void *arg)
{
    struct reveal *r = arg;

    r->listed = 0;
    r->listed_spent = 0;
    return certs_reference_summaries(t, r->observer, r->with_retired, r->now_ms, r->policy,
                                     summary_cb, r);
}

/* An attempt shown in full: its own figures (hand-worked above for GOOD),
 * one difference, and the reference spent for that observer only. */
static void test_reveal_spends_reference(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__CalibrationResult *res = NULL;
    struct reveal rv;
    struct tref r1, r2;
    struct get_ref g;
    size_t differ = 0;

    tref_init(&r1, 1, "coaching", MASTER, "Deal review, Globex");
    tref_init(&r2, 2, "coaching", MASTER, "Deal review, Acme");
    put_ref(f, &r1);
    put_ref(f, &r2);
    submit_attempt(f, 1, &r1, "alice", GOOD, T0_MS);
    assert_int_equal(calibrate(f, "alice", &r1, 1, T0_MS, &res), 0);
    coachq__v1__calibration_result__free_unpacked(res, NULL);
    submit_attempt(f, 2, &r2, "alice", POOR, T0_MS + 1000);
    assert_int_equal(calibrate(f, "alice", &r2, 2, T0_MS + 1000, &res), 0);
    /* The stored result pools both references. */
    assert_int_equal(res->sessions, 2);
    coachq__v1__calibration_result__free_unpacked(res, NULL);

    memset(&rv, 0, sizeof(rv));
    rv.observer = "alice";
    rv.ref = r1.id;
    rv.policy = &f->policy;
    rv.now_ms = T0_MS + 2000;
    assert_int_equal(store_view(f->s, spent_fn, &rv), 0);
    assert_int_equal(rv.spent, 0);
    assert_int_equal(store_exec(f->s, reveal_fn, &rv), 0);
    assert_non_null(rv.out->result);
    /* r1's attempt alone, not the pooled figures over r1 and r2. */
    assert_int_equal(rv.out->result->n, 10);
    assert_int_equal(rv.out->result->sessions, 1);
    assert_float_equal(rv.out->result->exact, 0.9, 1e-12);
    assert_float_equal(rv.out->result->within_one, 1.0, 1e-12);
    assert_float_equal(rv.out->result->kappa, 78.0 / 83.0, 1e-12);
    assert_true(rv.out->result->revealed_at_ms == T0_MS + 2000);
    assert_int_equal(rv.out->n_differences, NB);
    for (size_t i = 0; i < rv.out->n_differences; i++) {
        const Coachq__V1__CalibrationDifference *d = rv.out->differences[i];

        assert_string_equal(d->behaviour_id, BIDS[i]);
        assert_int_equal(d->master_score, MASTER[i]);
        assert_int_equal(d->score, GOOD[i]);
        differ += d->score != d->master_score;
    }
    assert_int_equal(differ, 1);
    assert_int_equal(store_view(f->s, spent_fn, &rv), 0);
    assert_int_equal(rv.spent, 1);
    /* Shown again: the same attempt, first reveal time kept. */
    rv.now_ms = T0_MS + 5000;
    assert_int_equal(store_exec(f->s, reveal_fn, &rv), 0);
    assert_true(rv.out->result->revealed_at_ms == T0_MS + 2000);
    /* r2 is not spent for alice; r1 is not spent for bob, who has nothing
     * to show there. */
    rv.ref = r2.id;
    assert_int_equal(store_view(f->s, spent_fn, &rv), 0);
    assert_int_equal(rv.spent, 0);
    rv.observer = "bob";
    rv.ref = r1.id;
    assert_int_equal(store_view(f->s, spent_fn, &rv), 0);
    assert_int_equal(rv.spent, 0);
    assert_int_equal(store_exec(f->s, reveal_fn, &rv), -ENOENT);
    assert_null(rv.out);

    /* The list as alice sees it: both, r1 spent. */
    rv.observer = "alice";
    assert_int_equal(store_view(f->s, summaries_fn, &rv), 0);
    assert_int_equal(rv.listed, 2);
    assert_int_equal(rv.listed_spent, 1);

    /* Retiring r2: off the list (unless asked), kept with its time;
     * registering the same content again is harmless and keeps it
     * retired; an unknown id is -ENOENT. */
    rv.ref = r2.id;
    rv.now_ms = T0_MS + DAY_MS;
    assert_int_equal(store_exec(f->s, retire_fn, &rv), 0);
    rv.now_ms = T0_MS + 2 * DAY_MS;
    assert_int_equal(store_exec(f->s, retire_fn, &rv), 0);
    put_ref(f, &r2);
    memset(&g, 0, sizeof(g));
    g.id = r2.id;
    assert_int_equal(store_view(f->s, get_ref_fn, &g), 0);
    assert_true(g.out->retired_at_ms == T0_MS + DAY_MS);
    coachq__v1__calibration_reference__free_unpacked(g.out, NULL);
    assert_int_equal(store_view(f->s, summaries_fn, &rv), 0);
    assert_int_equal(rv.listed, 1);
    rv.with_retired = 1;
    assert_int_equal(store_view(f->s, summaries_fn, &rv), 0);
    assert_int_equal(rv.listed, 2);
    make_id(r2.id, 99);
    assert_int_equal(store_exec(f->s, retire_fn, &rv), -ENOENT);
    coachq__v1__calibration_answer__free_unpacked(rv.out, NULL);
}

int main(void);

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_calibration_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_poor_then_better, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_pooled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_no_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_one_category, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exam_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_wrong_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full_passes_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_memo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reveal_spends_reference, setup, teardown),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
