/* Tests of store/rubrics.c and store/certs.c, the records: immutable rubric
 * versions, certifications and their validity, and calibration references.
 * Scoring calibration attempts is test_certs_cal.c; the fixture and the
 * record helpers both share are testutil_certs.c. */
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

/* ---- Rubrics ----------------------------------------------------------- */

static int rubric_seen_cb(const Coachq__V1__Rubric *r, void *arg)
{
    char text[160];

    snprintf(text, sizeof(text), "%s@%u", r->id, (unsigned)r->version);
    return seen_add(arg, text);
}

static int list_rubrics_fn(struct store_txn *t, void *arg)
{
    struct seen *s = arg;

    return rubrics_list(t, s->latest_only, rubric_seen_cb, s);
}

static int ro_put_rubric_fn(struct store_txn *t, void *arg)
{
    int changed = -1;

    return rubrics_put(t, arg, &changed);
}

static void test_rubric_put_get_list(void **state)
{
    struct fixture *f = *state;
    struct trubric v1, v2, calls, neighbour, longer;
    Coachq__V1__Rubric *got = NULL;
    struct seen s;
    int changed;

    trubric_init(&v1, "coaching", 1, NB, "Coaching conversation v1");
    trubric_init(&v2, "coaching", 2, NB, "Coaching conversation v2");
    trubric_init(&calls, "calls", 1, 8, "Call review");
    /* Same length as "coaching" with the last byte raised: the key the
     * latest-version scan seeks to. */
    trubric_init(&neighbour, "coachinh", 1, 3, "Neighbour");
    /* Starts with "coaching" but is a different id. */
    trubric_init(&longer, "coaching2", 7, 3, "Longer");
    assert_int_equal(put_rubric(f, &v2.r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(put_rubric(f, &v1.r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(put_rubric(f, &calls.r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(put_rubric(f, &neighbour.r, &changed), 0);
    assert_int_equal(put_rubric(f, &longer.r, &changed), 0);

    assert_int_equal(get_rubric(f, "coaching", 1, &got), 0);
    assert_string_equal(got->name, "Coaching conversation v1");
    assert_int_equal(got->version, 1);
    assert_int_equal(got->n_behaviours, NB);
    assert_string_equal(got->behaviours[9]->id, "b10");
    assert_true(got->added_at_ms == T0_MS);
    coachq__v1__rubric__free_unpacked(got, NULL);

    /* Version 0 is the latest, whatever order the versions came in. */
    assert_int_equal(get_rubric(f, "coaching", 0, &got), 0);
    assert_int_equal(got->version, 2);
    assert_string_equal(got->name, "Coaching conversation v2");
    coachq__v1__rubric__free_unpacked(got, NULL);
    assert_int_equal(get_rubric(f, "coachinh", 0, &got), 0);
    assert_string_equal(got->id, "coachinh");
    coachq__v1__rubric__free_unpacked(got, NULL);
    assert_int_equal(get_rubric(f, "coaching2", 0, &got), 0);
    assert_int_equal(got->version, 7);
    coachq__v1__rubric__free_unpacked(got, NULL);

    assert_int_equal(get_rubric(f, "coaching", 3, &got), -ENOENT);
    assert_null(got);
    assert_int_equal(get_rubric(f, "coachin", 0, &got), -ENOENT);
    assert_null(got);
    assert_int_equal(get_rubric(f, "nope", 1, &got), -ENOENT);
    assert_int_equal(get_rubric(f, "", 0, &got), -ENOENT);

    /* Key order: ids by length first (the length byte), then versions. */
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_view(f->s, list_rubrics_fn, &s), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.item[0], "calls@1");
    assert_string_equal(s.item[1], "coaching@1");
    assert_string_equal(s.item[2], "coaching@2");
    assert_string_equal(s.item[3], "coachinh@1");
    assert_string_equal(s.item[4], "coaching2@7");

    memset(&s, 0, sizeof(s));
    s.latest_only = 1;
    assert_int_equal(store_view(f->s, list_rubrics_fn, &s), 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.item[0], "calls@1");
    assert_string_equal(s.item[1], "coaching@2");
    assert_string_equal(s.item[2], "coachinh@1");
    assert_string_equal(s.item[3], "coaching2@7");

    /* A callback stops a listing with 1, or fails it with its code. */
    memset(&s, 0, sizeof(s));
    s.latest_only = 1;
    s.stop_after = 2;
    assert_int_equal(store_view(f->s, list_rubrics_fn, &s), 0);
    assert_int_equal(s.n, 2);
    memset(&s, 0, sizeof(s));
    s.latest_only = 1;
    s.stop_after = 4;
    assert_int_equal(store_view(f->s, list_rubrics_fn, &s), 0);
    assert_int_equal(s.n, 4);
    memset(&s, 0, sizeof(s));
    s.fail_with = -EMLINK;
    assert_int_equal(store_view(f->s, list_rubrics_fn, &s), -EMLINK);
    assert_int_equal(s.n, 1);
    memset(&s, 0, sizeof(s));
    s.latest_only = 1;
    s.fail_with = -EMLINK;
    assert_int_equal(store_view(f->s, list_rubrics_fn, &s), -EMLINK);
    assert_int_equal(s.n, 1);

    /* A read transaction cannot store. */
    assert_int_equal(store_view(f->s, ro_put_rubric_fn, &v1.r), -EROFS);

    /* Behaviours and evidence rules of a rubric. */
    assert_ptr_equal(rubrics_behaviour(&v1.r, "b3"), &v1.b[2]);
    assert_ptr_equal(rubrics_behaviour(&v1.r, "b10"), &v1.b[9]);
    assert_null(rubrics_behaviour(&v1.r, "b11"));
    assert_null(rubrics_behaviour(&calls.r, "b9"));
    assert_true(rubrics_needs_evidence(&v1.r, 1));
    assert_true(rubrics_needs_evidence(&v1.r, 4));
    assert_false(rubrics_needs_evidence(&v1.r, 2));
    assert_false(rubrics_needs_evidence(&v1.r, 3));
}

static void test_rubric_immutable(void **state)
{
    struct fixture *f = *state;
    struct trubric v1, changed_v1, again, bad;
    Coachq__V1__Rubric *got = NULL;
    int changed;

    trubric_init(&v1, "coaching", 1, NB, "Coaching conversation");
    assert_int_equal(put_rubric(f, &v1.r, &changed), 0);
    assert_int_equal(changed, 1);

    /* Other content under the same version is refused and changes
     * nothing. */
    trubric_init(&changed_v1, "coaching", 1, NB, "Coaching conversation, edited");
    changed_v1.r.added_at_ms = T0_MS + 5000;
    assert_int_equal(put_rubric(f, &changed_v1.r, &changed), -EEXIST);
    trubric_init(&changed_v1, "coaching", 1, NB, "Coaching conversation");
    changed_v1.b[4].allow_not_applicable = 0;
    assert_int_equal(put_rubric(f, &changed_v1.r, &changed), -EEXIST);
    assert_int_equal(get_rubric(f, "coaching", 1, &got), 0);
    assert_string_equal(got->name, "Coaching conversation");
    assert_true(got->behaviours[4]->allow_not_applicable);
    assert_true(got->added_at_ms == T0_MS);
    coachq__v1__rubric__free_unpacked(got, NULL);

    /* The same content loaded again later is no change, and the first
     * load time stays. */
    trubric_init(&again, "coaching", 1, NB, "Coaching conversation");
    again.r.added_at_ms = T0_MS + DAY_MS;
    assert_int_equal(put_rubric(f, &again.r, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(get_rubric(f, "coaching", 1, &got), 0);
    assert_true(got->added_at_ms == T0_MS);
    coachq__v1__rubric__free_unpacked(got, NULL);

    /* A changed rubric is a new version. */
    assert_int_equal(put_rubric(f, &changed_v1.r, &changed), -EEXIST);
    changed_v1.r.version = 2;
    assert_int_equal(put_rubric(f, &changed_v1.r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(get_rubric(f, "coaching", 0, &got), 0);
    assert_int_equal(got->version, 2);
    assert_false(got->behaviours[4]->allow_not_applicable);
    coachq__v1__rubric__free_unpacked(got, NULL);

    /* A behaviour id keeps its meaning across versions (issue 11): a new
     * definition under the same id is refused, whatever the version. */
    {
        struct trubric v3;

        trubric_init(&v3, "coaching", 3, NB, "Coaching conversation");
        v3.b[4].allow_not_applicable = 0;
        v3.b[2].definition = (char *)"Something else entirely.";
        assert_int_equal(put_rubric(f, &v3.r, &changed), -EILSEQ);
        assert_int_equal(get_rubric(f, "coaching", 0, &got), 0);
        assert_int_equal(got->version, 2);
        coachq__v1__rubric__free_unpacked(got, NULL);
        v3.b[2].definition = (char *)"";
        assert_int_equal(put_rubric(f, &v3.r, &changed), 0);
        assert_int_equal(changed, 1);
    }

    trubric_init(&bad, "coaching", 0, NB, "No version");
    assert_int_equal(put_rubric(f, &bad.r, &changed), -EINVAL);
    trubric_init(&bad, "", 1, NB, "No id");
    assert_int_equal(put_rubric(f, &bad.r, &changed), -EINVAL);
}

static void put_cert(struct fixture *f, const char *observer, const char *rubric, int32_t from,
                     int32_t until)
{
    Coachq__V1__Certification c;

    cert_init(&c, observer, rubric, from, until);
    assert_int_equal(store_exec(f->s, put_cert_fn, &c), 0);
}

static void test_certs_valid_on(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__Certification bad;
    struct valid_on v = {.observer = "alice", .rubric = "coaching", .day = 150};
    struct list_certs l;

    /* Nobody certified yet: no "last" either. */
    check_valid_on(f, "alice", "coaching", 150, 0, 0, 0);

    put_cert(f, "alice", "coaching", 100, 199);
    /* Other rubrics and other observers do not count. */
    put_cert(f, "alice", "calls", 0, 1000);
    put_cert(f, "bob", "coaching", 0, 1000);
    put_cert(f, "alice2", "coaching", 0, 1000);

    check_valid_on(f, "alice", "coaching", 100, 100, 199, 0); /* first day */
    check_valid_on(f, "alice", "coaching", 199, 100, 199, 0); /* last day */
    check_valid_on(f, "alice", "coaching", 200, 0, 0, 199);   /* the day after */
    check_valid_on(f, "alice", "coaching", 99, 0, 0, 199);    /* the day before */
    check_valid_on(f, "alice", "coaching", -5, 0, 0, 199);
    check_valid_on(f, "carol", "coaching", 150, 0, 0, 0);
    check_valid_on(f, "alice", "rubric-x", 150, 0, 0, 0);

    /* With a later one too, "last" is the one that ends last, before or
     * after the day asked. */
    put_cert(f, "alice", "coaching", 300, 399);
    check_valid_on(f, "alice", "coaching", 250, 0, 0, 399);
    check_valid_on(f, "alice", "coaching", 400, 0, 0, 399);
    check_valid_on(f, "alice", "coaching", 50, 0, 0, 399);
    check_valid_on(f, "alice", "coaching", 300, 300, 399, 0);
    check_valid_on(f, "alice", "coaching", 150, 100, 199, 0);

    /* Overlapping: the one that holds longest is answered. */
    put_cert(f, "alice", "coaching", 190, 320);
    check_valid_on(f, "alice", "coaching", 195, 190, 320, 0);
    check_valid_on(f, "alice", "coaching", 310, 300, 399, 0);

    /* Same key (observer, rubric, first day): replaced. */
    put_cert(f, "alice", "coaching", 100, 150);
    check_valid_on(f, "alice", "coaching", 160, 0, 0, 399);
    check_valid_on(f, "alice", "coaching", 150, 100, 150, 0);

    /* Without a "last" pointer only *out is answered. */
    assert_int_equal(store_view(f->s, valid_on_fn, &v), 0);
    assert_non_null(v.out);
    assert_int_equal(v.out->valid_until_day, 150);
    coachq__v1__certification__free_unpacked(v.out, NULL);

    cert_init(&bad, "alice", "coaching", 10, 9);
    assert_int_equal(store_exec(f->s, put_cert_fn, &bad), -EINVAL);
    cert_init(&bad, "", "coaching", 10, 19);
    assert_int_equal(store_exec(f->s, put_cert_fn, &bad), -EINVAL);

    /* One observer's, by rubric then first day (ids by length first). */
    memset(&l, 0, sizeof(l));
    l.observer = "alice";
    assert_int_equal(store_view(f->s, list_certs_fn, &l), 0);
    assert_int_equal(l.seen.n, 4);
    assert_string_equal(l.seen.item[0], "alice/calls 0..1000 admin-1");
    assert_string_equal(l.seen.item[1], "alice/coaching 100..150 admin-1");
    assert_string_equal(l.seen.item[2], "alice/coaching 190..320 admin-1");
    assert_string_equal(l.seen.item[3], "alice/coaching 300..399 admin-1");

    memset(&l, 0, sizeof(l));
    assert_int_equal(store_view(f->s, list_certs_fn, &l), 0);
    assert_int_equal(l.seen.n, 6);
    assert_string_equal(l.seen.item[0], "bob/coaching 0..1000 admin-1");
    assert_string_equal(l.seen.item[1], "alice/calls 0..1000 admin-1");
    assert_string_equal(l.seen.item[5], "alice2/coaching 0..1000 admin-1");

    memset(&l, 0, sizeof(l));
    l.observer = "carol";
    assert_int_equal(store_view(f->s, list_certs_fn, &l), 0);
    assert_int_equal(l.seen.n, 0);
}

static int ref_seen_cb(const Coachq__V1__CalibrationReference *r, void *arg)
{
    char text[160];

    snprintf(text, sizeof(text), "%u:%s", (unsigned)r->id.data[15], r->title);
    return seen_add(arg, text);
}

static int list_refs_fn(struct store_txn *t, void *arg)
{
    return certs_references(t, ref_seen_cb, arg);
}

static void test_references(void **state)
{
    struct fixture *f = *state;
    struct tref r1, r2, again, other;
    struct get_ref g;
    struct seen s;

    tref_init(&r2, 2, "coaching", MASTER, "Deal review, Acme");
    tref_init(&r1, 1, "coaching", MASTER, "Deal review, Globex");
    r1.m[2].evidence = (char *)"asked for the buyer's view twice";
    assert_int_equal(store_exec(f->s, put_ref_fn, &r2.r), 0);
    assert_int_equal(store_exec(f->s, put_ref_fn, &r1.r), 0);

    memset(&g, 0, sizeof(g));
    g.id = r1.id;
    assert_int_equal(store_view(f->s, get_ref_fn, &g), 0);
    assert_non_null(g.out);
    assert_string_equal(g.out->title, "Deal review, Globex");
    assert_string_equal(g.out->rubric_id, "coaching");
    assert_int_equal(g.out->n_master, NB);
    assert_int_equal(g.out->master[3]->score, 3);
    assert_string_equal(g.out->master[2]->evidence, "asked for the buyer's view twice");
    assert_true(g.out->registered_at_ms == T0_MS - DAY_MS);
    coachq__v1__calibration_reference__free_unpacked(g.out, NULL);

    /* A retried registration (the server stamps a new time) is accepted. */
    tref_init(&again, 1, "coaching", MASTER, "Deal review, Globex");
    again.m[2].evidence = (char *)"asked for the buyer's view twice";
    again.r.registered_at_ms = T0_MS;
    assert_int_equal(store_exec(f->s, put_ref_fn, &again.r), 0);

    /* Other content under a taken id is refused: attempts were scored
     * against the stored masters. */
    tref_init(&other, 1, "coaching", MASTER, "Deal review, Globex");
    other.m[2].evidence = (char *)"asked for the buyer's view twice";
    other.m[5].score = 4;
    assert_int_equal(store_exec(f->s, put_ref_fn, &other.r), -EEXIST);
    other.m[5].score = 3;
    other.r.title = (char *)"Renamed";
    assert_int_equal(store_exec(f->s, put_ref_fn, &other.r), -EEXIST);

    memset(&g, 0, sizeof(g));
    g.id = r1.id;
    assert_int_equal(store_view(f->s, get_ref_fn, &g), 0);
    assert_string_equal(g.out->title, "Deal review, Globex");
    assert_int_equal(g.out->master[5]->score, 3);
    assert_true(g.out->registered_at_ms == T0_MS - DAY_MS);
    coachq__v1__calibration_reference__free_unpacked(g.out, NULL);

    make_id(other.id, 9);
    memset(&g, 0, sizeof(g));
    g.id = other.id;
    assert_int_equal(store_view(f->s, get_ref_fn, &g), -ENOENT);
    assert_null(g.out);

    /* No 16-byte id: refused. */
    other.r.id.len = 15;
    assert_int_equal(store_exec(f->s, put_ref_fn, &other.r), -EINVAL);

    memset(&s, 0, sizeof(s));
    assert_int_equal(store_view(f->s, list_refs_fn, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.item[0], "1:Deal review, Globex");
    assert_string_equal(s.item[1], "2:Deal review, Acme");
}

int main(void);

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rubric_put_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rubric_immutable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certs_valid_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references, setup, teardown),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
