/*
 * testutil_certs: the bare store and the rubric, certification and
 * calibration reference helpers that test_certs.c and test_certs_cal.c
 * share (testutil_certs.h). Every function runs on the test's thread
 * unless it says it is a store callback, which runs on the store's writer
 * or reader thread and makes no cmocka assertion.
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

#include "certs.h"
#include "rubrics.h"
#include "store.h"
#include "testutil.h"
#include "testutil_certs.h"

const char *const BIDS[NB] = {"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10"};

void make_id(uint8_t out[16], uint8_t n)
{
    memset(out, 0, 16);
    out[0] = 0x5a;
    out[6] = 0x40;
    out[15] = n;
}

void trubric_init(struct trubric *tr, const char *id, uint32_t version, size_t nb, const char *name)
{
    Coachq__V1__Rubric r = COACHQ__V1__RUBRIC__INIT;

    tr->r = r;
    tr->r.id = (char *)id;
    tr->r.version = version;
    tr->r.name = (char *)name;
    tr->r.description = (char *)"test rubric";
    for (size_t i = 0; i < nb; i++) {
        Coachq__V1__Behaviour b = COACHQ__V1__BEHAVIOUR__INIT;

        tr->b[i] = b;
        tr->b[i].id = (char *)BIDS[i];
        tr->b[i].name = (char *)BIDS[i];
        tr->b[i].allow_not_applicable = 1;
        tr->bp[i] = &tr->b[i];
    }
    tr->r.n_behaviours = nb;
    tr->r.behaviours = tr->bp;
    tr->ev[0] = 1;
    tr->ev[1] = 4;
    tr->r.n_evidence_required = 2;
    tr->r.evidence_required = tr->ev;
    tr->r.effective_day = DAY0 - 100;
    tr->r.added_at_ms = T0_MS;
}

struct put_rubric {
    const Coachq__V1__Rubric *r;
    int changed;
};

/* Writer thread: no cmocka assertions here, only results. */
static int put_rubric_fn(struct store_txn *t, void *arg)
{
    struct put_rubric *p = arg;

    p->changed = -1;
    return rubrics_put(t, p->r, &p->changed);
}

int put_rubric(struct fixture *f, const Coachq__V1__Rubric *r, int *changed)
{
    struct put_rubric p = {.r = r, .changed = -1};
    int rc = store_exec(f->s, put_rubric_fn, &p);

    *changed = p.changed;
    return rc;
}

struct get_rubric {
    const char *id;
    uint32_t version;
    Coachq__V1__Rubric *out;
};

static int get_rubric_fn(struct store_txn *t, void *arg)
{
    struct get_rubric *g = arg;

    return rubrics_get(t, g->id, g->version, &g->out);
}

int get_rubric(struct fixture *f, const char *id, uint32_t version, Coachq__V1__Rubric **out)
{
    struct get_rubric g = {.id = id, .version = version, .out = NULL};
    int rc = store_view(f->s, get_rubric_fn, &g);

    *out = g.out;
    return rc;
}

int seen_add(struct seen *s, const char *text)
{
    if (s->n >= 16) {
        return -ENOBUFS;
    }
    snprintf(s->item[s->n], sizeof(s->item[0]), "%s", text);
    s->n++;
    if (s->fail_with != 0) {
        return s->fail_with;
    }
    return s->stop_after != 0 && s->n == s->stop_after ? 1 : 0;
}

void cert_init(Coachq__V1__Certification *c, const char *observer, const char *rubric, int32_t from,
               int32_t until)
{
    Coachq__V1__Certification init = COACHQ__V1__CERTIFICATION__INIT;

    *c = init;
    c->observer_id = (char *)observer;
    c->rubric_id = (char *)rubric;
    c->valid_from_day = from;
    c->valid_until_day = until;
    c->granted_by = (char *)"admin-1";
    c->granted_at_ms = T0_MS;
}

int put_cert_fn(struct store_txn *t, void *arg)
{
    return certs_put(t, arg);
}

int valid_on_fn(struct store_txn *t, void *arg)
{
    struct valid_on *v = arg;

    return certs_valid_on(t, v->observer, v->rubric, v->day, &v->out,
                          v->want_last ? &v->last : NULL);
}

void check_valid_on(struct fixture *f, const char *observer, const char *rubric, int32_t day,
                    int32_t from, int32_t until, int32_t last_until)
{
    struct valid_on v = {.observer = observer, .rubric = rubric, .day = day, .want_last = 1};
    int rc = store_view(f->s, valid_on_fn, &v);

    if (from != 0 || until != 0) {
        assert_int_equal(rc, 0);
        assert_non_null(v.out);
        assert_int_equal(v.out->valid_from_day, from);
        assert_int_equal(v.out->valid_until_day, until);
        assert_string_equal(v.out->observer_id, observer);
        assert_string_equal(v.out->rubric_id, rubric);
        assert_null(v.last);
    } else {
        assert_int_equal(rc, -ENOENT);
        assert_null(v.out);
        if (last_until == 0) {
            assert_null(v.last);
        } else {
            assert_non_null(v.last);
            assert_int_equal(v.last->valid_until_day, last_until);
        }
    }
    coachq__v1__certification__free_unpacked(v.out, NULL);
    coachq__v1__certification__free_unpacked(v.last, NULL);
}

static int cert_seen_cb(const Coachq__V1__Certification *c, void *arg)
{
    char text[160];

    snprintf(text, sizeof(text), "%s/%s %d..%d %s", c->observer_id, c->rubric_id,
             (int)c->valid_from_day, (int)c->valid_until_day, c->granted_by);
    return seen_add(arg, text);
}

int list_certs_fn(struct store_txn *t, void *arg)
{
    struct list_certs *l = arg;

    return certs_list(t, l->observer, cert_seen_cb, &l->seen);
}

void tref_init(struct tref *tr, uint8_t n, const char *rubric, const int scores[NB],
               const char *title)
{
    Coachq__V1__CalibrationReference r = COACHQ__V1__CALIBRATION_REFERENCE__INIT;

    make_id(tr->id, n);
    tr->r = r;
    tr->r.id.data = tr->id;
    tr->r.id.len = 16;
    tr->r.rubric_id = (char *)rubric;
    tr->r.rubric_version = 1;
    tr->r.title = (char *)title;
    tr->r.registered_by = (char *)"lead-1";
    tr->r.registered_at_ms = T0_MS - DAY_MS;
    for (size_t i = 0; i < NB; i++) {
        Coachq__V1__Rating m = COACHQ__V1__RATING__INIT;

        tr->m[i] = m;
        tr->m[i].behaviour_id = (char *)BIDS[i];
        tr->m[i].score = (uint32_t)scores[i];
        tr->m[i].not_applicable = scores[i] == 0;
        tr->mp[i] = &tr->m[i];
    }
    tr->r.n_master = NB;
    tr->r.master = tr->mp;
}

int put_ref_fn(struct store_txn *t, void *arg)
{
    return certs_reference_put(t, arg);
}

int get_ref_fn(struct store_txn *t, void *arg)
{
    struct get_ref *g = arg;

    return certs_reference_get(t, g->id, &g->out);
}

const int MASTER[NB] = {1, 2, 2, 3, 3, 3, 3, 4, 4, 4};

void list_certs(struct fixture *f, const char *observer, struct list_certs *l)
{
    memset(l, 0, sizeof(*l));
    l->observer = observer;
    assert_int_equal(store_view(f->s, list_certs_fn, l), 0);
}

int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct store_opts opts;

    if (f == NULL) {
        return -1;
    }
    testutil_tmpdir(f->dir, sizeof(f->dir));
    store_policy_default(&f->policy);
    /* The bare store: no organisation to check observations against. */
    f->policy.enforce = 0;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &f->policy;
    if (store_open(f->dir, &opts, &f->s) != 0) {
        testutil_rmrf(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int teardown(void **state)
{
    struct fixture *f = *state;

    store_drain(f->s);
    (void)store_completed_take(f->s);
    store_close(f->s);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}
