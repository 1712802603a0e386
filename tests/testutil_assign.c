/*
 * testutil_assign: the organisation, coverage plan and draw helpers that
 * test_assign.c (the draw and reassignment) and test_assign_fulfil.c
 * (fulfilment, erasure, the verbs over TLS) share (testutil_assign.h).
 * Every function runs on the test's thread unless it says it is a store
 * callback, which runs on the store's writer or reader thread.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assign.h"
#include "people.h"
#include "store.h"
#include "testutil.h"
#include "testutil_assign.h"

const char *const line_a[4] = {"flm.a1", "flm.a2", "flm.a3", "flm.a4"};
const char *const line_b[2] = {"flm.b1", "flm.b2"};
const char *const line_c[6] = {"flm.c1", "flm.c2", "flm.c3", "flm.c4", "flm.c5", "flm.c6"};
const char *const observers[6] = {"dir.1", "obs.1", "obs.2", "obs.3", "obs.a", "slm.c"};

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

int draw_txn(struct store_txn *t, void *arg)
{
    struct draw_call *dc = arg;

    assign_draw_result_clear(&dc->res);
    dc->rc = assign_draw(t, &dc->req, &dc->res);
    if (dc->rc != 0) {
        return dc->rc;
    }
    return dc->keep ? 0 : -ECANCELED;
}

void draw(struct store *s, const char *scope, uint64_t seed, uint32_t sample, int keep,
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

struct testutil_store_fx *org_with_plan(const struct plan_args *pa)
{
    struct testutil_store_fx *f = testutil_store_fx_new(build_org, NULL);

    assert_int_equal(store_exec(f->s, put_plan, (void *)pa), 0);
    return f;
}

int reassign_txn(struct store_txn *t, void *arg)
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

Coachq__V1__Assignment *reread(struct store *s, const uint8_t id[16])
{
    Coachq__V1__Assignment key = COACHQ__V1__ASSIGNMENT__INIT;
    Coachq__V1__Assignment *a = &key;

    key.id.data = (uint8_t *)id;
    key.id.len = 16;
    assert_int_equal(store_view(s, get_txn, &a), 0);
    return a;
}
