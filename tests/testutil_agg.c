/*
 * testutil_agg: what the suites of store/agg.c (test_agg.c, test_agg_mix.c,
 * test_agg_upgrade.c) share: submitting an observation with markers and an
 * action, reading a scope's weeks back, and the figures of the first week
 * (testutil_agg.h). Every function runs on the test's thread unless it
 * says it is a store callback, which runs on the store's reader thread.
 */
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

#include "agg.h"
#include "agg_int.h"
#include "obs.h"
#include "store.h"
#include "testutil.h"
#include "testutil_agg.h"

void submit_wait_one(struct store *s, const char *observer, const Coachq__V1__Observation *o,
                     struct store_write *w)
{
    size_t n = coachq__v1__observation__get_packed_size(o);
    uint8_t *buf = malloc(n + 1);

    assert_non_null(buf);
    coachq__v1__observation__pack(o, buf);
    memset(w, 0, sizeof(*w));
    w->obs = buf;
    w->obs_len = n;
    w->observer_id = observer;
    w->received_at_ms = testutil_now_ms();
    assert_int_equal(store_submit(s, w), 0);
    store_drain(s);
    assert_ptr_equal(store_completed_take(s), w);
    free(buf);
    w->obs = NULL;
}

int submit(struct store *s, const char *observer, const Coachq__V1__Observation *o)
{
    struct store_write w;

    submit_wait_one(s, observer, o, &w);
    if (w.rc == 0) {
        assert_int_equal(w.result, STORE_STORED);
    } else if (w.rc != -EEXIST) {
        fprintf(stderr, "refused: %s: %s\n", w.fault.field, w.fault.message);
    }
    return w.rc;
}

void tobs_make(struct tobs *x, const char *coach, const char *coachee, int64_t at)
{
    static const struct {
        Coachq__V1__MarkerKind kind;
        uint32_t offset_ms;
    } marks[3] = {
        {COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION, 1000},
        {COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, 120000},
        {COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, 90000},
    };
    Coachq__V1__Action ainit = COACHQ__V1__ACTION__INIT;

    memset(x, 0, sizeof(*x));
    testutil_obs_make(&x->t, coach, coachee, at);
    x->t.r[NA_INDEX].score = 0;
    x->t.r[NA_INDEX].not_applicable = 1;
    for (int i = 0; i < 3; i++) {
        Coachq__V1__Marker m = COACHQ__V1__MARKER__INIT;

        x->m[i] = m;
        x->m[i].kind = marks[i].kind;
        x->m[i].offset_ms = marks[i].offset_ms;
        x->mp[i] = &x->m[i];
    }
    x->t.o.markers = x->mp;
    x->t.o.n_markers = 3;
    x->a = ainit;
    x->a.text = (char *)"Send the mutual plan";
    x->a.owner_id = (char *)coachee;
    x->ap[0] = &x->a;
    x->t.o.actions = x->ap;
    x->t.o.n_actions = 1;
}

struct read_args {
    enum agg_scope kind;
    const char *scope;
    int32_t from, until;
    struct weeks *out;
};

static int weeks_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct weeks *ws = arg;
    Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;

    if (ws->n == MAX_WEEKS) {
        return -E2BIG;
    }
    ws->monday[ws->n] = monday;
    ws->w[ws->n] = init;
    if (agg_week_add(&ws->w[ws->n], w) != 0) {
        agg_week_clear(&ws->w[ws->n]);
        return -ENOMEM;
    }
    ws->n++;
    return 0;
}

static int read_txn(struct store_txn *t, void *arg)
{
    struct read_args *r = arg;

    return agg_read(t, r->kind, r->scope, RUBRIC, r->from, r->until, weeks_cb, r->out);
}

void weeks_free(struct weeks *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        agg_week_clear(&ws->w[i]);
    }
    ws->n = 0;
}

void read_weeks(struct store *s, enum agg_scope kind, const char *scope, int32_t from,
                int32_t until, struct weeks *out)
{
    struct read_args r = {kind, scope, from, until, out};

    memset(out, 0, sizeof(*out));
    assert_int_equal(store_view(s, read_txn, &r), 0);
}

struct coached_args {
    const char *observer;
    int32_t from, until;
    struct coached *out;
};

int coached_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    struct coached *c = arg;
    size_t n = c->ws.n;
    int rc;

    if (n == MAX_WEEKS || strlen(coach) > 64) {
        return -E2BIG;
    }
    rc = weeks_cb(monday, w, &c->ws);
    if (rc == 0) {
        memcpy(c->coach[n], coach, strlen(coach) + 1);
    }
    return rc;
}

static int coached_txn(struct store_txn *t, void *arg)
{
    struct coached_args *a = arg;

    return agg_read_coached(t, a->observer, RUBRIC, a->from, a->until, coached_cb, a->out);
}

void read_coached(struct store *s, const char *observer, int32_t from, int32_t until,
                  struct coached *out)
{
    struct coached_args a = {observer, from, until, out};

    memset(out, 0, sizeof(*out));
    assert_int_equal(store_view(s, coached_txn, &a), 0);
}

const Coachq__V1__AggWeek *one_week(struct store *s, enum agg_scope kind, const char *scope,
                                    int week, struct weeks *ws)
{
    read_weeks(s, kind, scope, MON0, MON0 + 7 * 8, ws);
    if (ws->n != 1) {
        fprintf(stderr, "%d/%s: %zu weeks\n", (int)kind, scope, ws->n);
    }
    assert_int_equal(ws->n, 1);
    assert_int_equal(ws->monday[0], MON0 + 7 * week);
    return &ws->w[0];
}

const Coachq__V1__AggBehaviour *beh(const Coachq__V1__AggWeek *w, const char *id)
{
    for (size_t i = 0; i < w->n_behaviours; i++) {
        if (strcmp(w->behaviours[i]->id, id) == 0) {
            return w->behaviours[i];
        }
    }
    return NULL;
}

uint64_t marker(const Coachq__V1__AggWeek *w, int kind)
{
    return (size_t)kind < w->n_markers ? w->markers[kind] : 0;
}

uint64_t pair(const Coachq__V1__AggWeek *w, int mine, int peer)
{
    size_t i = (size_t)((mine - 1) * 4 + (peer - 1));

    return i < w->n_pairs ? w->pairs[i] : 0;
}

void assert_near(double a, double b)
{
    if (fabs(a - b) > 1e-9) {
        fail_msg("%.12g != %.12g", a, b);
    }
}

void check_first_obs_week(const Coachq__V1__AggWeek *w)
{
    assert_int_equal(w->observations, 1);
    assert_int_equal(w->seconds, 1800);
    /* Nine scored: 2 at even indexes (0,2,4,6,8), 3 at 1,5,7,9. */
    assert_int_equal(w->n_behaviours, 9);
    assert_null(beh(w, "buyers-view"));
    assert_int_equal(beh(w, "collaborative")->count, 1);
    assert_near(beh(w, "collaborative")->sum, 2);
    assert_near(beh(w, "regular-cadence")->sumsq, 9);
    assert_int_equal(beh(w, "regular-cadence")->proficient, 1);
    assert_int_equal(beh(w, "collaborative")->proficient, 0);
    assert_int_equal(w->index_n, 1);
    assert_near(w->index_sum, 22.0 / 9.0);
    assert_near(w->index_sumsq, (22.0 / 9.0) * (22.0 / 9.0));
    assert_int_equal(marker(w, COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION), 1);
    assert_int_equal(marker(w, COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED), 2);
    assert_int_equal(marker(w, COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE), 0);
    assert_int_equal(w->self_assess_n, 1);
    assert_near(w->self_assess_s_sum, 90.0);
    assert_int_equal(w->actions, 1);
    assert_int_equal(w->double_coded, 0);
}

void amended(struct tobs *x, const char *coachee)
{
    tobs_make(x, "flm.cara", coachee, T0 + WEEK_S);
    for (int i = 0; i < 10; i++) {
        x->t.r[i].score = 3;
        x->t.r[i].not_applicable = 0;
    }
    x->t.o.duration_s = 2400;
    x->t.o.n_markers = 1;
    x->t.o.n_actions = 0;
}

void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;

    if (d->n++ == 0) {
        snprintf(d->first, sizeof(d->first), "%s: %s", key, what);
    }
}

void seed_two(struct testutil_seeded *f)
{
    struct tobs a, b;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.cara", "rep.lou", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
}
