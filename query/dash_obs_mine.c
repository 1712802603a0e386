/*
 * dash_obs_mine: the observer's own calibration agreement on My
 * reliability; see dash_obs_mine.h.
 *
 * The cost is one read of the observer's calibration results and, per
 * rubric, one of the latest attempt shown in full and its reference.
 */
#include "dash_obs_mine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "certs_cal.h"
#include "dash_obs_history.h"
#include "day.h"
#include "store.h"

#define MINE_DAY_MS ((int64_t)86400 * 1000)

/* One rubric: the attempts shown in full and the latest of them. */
struct mine_rubric {
    char *rubric;                          /* in the dash's arena */
    unsigned shown;                        /* attempts shown in full */
    Coachq__V1__CalibrationResult *latest; /* owned copy */
};

struct mine_walk {
    struct dash *d;
    int64_t until_ms;
    struct mine_rubric *r;
    size_t n, cap;
};

/* An owned copy of r, or NULL on no memory. */
static Coachq__V1__CalibrationResult *result_copy(const Coachq__V1__CalibrationResult *r)
{
    size_t len = coachq__v1__calibration_result__get_packed_size(r);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    Coachq__V1__CalibrationResult *copy;

    if (buf == NULL) {
        return NULL;
    }
    coachq__v1__calibration_result__pack(r, buf);
    copy = coachq__v1__calibration_result__unpack(NULL, len, buf);
    free(buf);
    return copy;
}

static int mine_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct mine_walk *w = arg;
    struct mine_rubric *m = NULL;
    Coachq__V1__CalibrationResult *copy;

    if (r->revealed_at_ms == 0 || r->at_ms >= w->until_ms || r->rubric_id == NULL) {
        return 0;
    }
    for (size_t i = 0; i < w->n && m == NULL; i++) {
        if (strcmp(w->r[i].rubric, r->rubric_id) == 0) {
            m = &w->r[i];
        }
    }
    if (m == NULL) {
        if (w->n == w->cap) {
            size_t cap = w->cap > 0 ? 2 * w->cap : 4;
            struct mine_rubric *grown = realloc(w->r, cap * sizeof(*grown));

            if (grown == NULL) {
                return -ENOMEM;
            }
            w->r = grown;
            w->cap = cap;
        }
        m = &w->r[w->n];
        memset(m, 0, sizeof(*m));
        m->rubric = dash_strdup(w->d, r->rubric_id);
        if (m->rubric == NULL) {
            return -ENOMEM;
        }
        w->n++;
    }
    /* The results come oldest first: the last one seen is the latest. */
    copy = result_copy(r);
    if (copy == NULL) {
        return -ENOMEM;
    }
    coachq__v1__calibration_result__free_unpacked(m->latest, NULL);
    m->latest = copy;
    m->shown++;
    return 0;
}

static int rubric_cmp(const void *a, const void *b)
{
    const struct mine_rubric *x = a, *y = b;

    return strcmp(x->rubric, y->rubric);
}

int dash_obs_mine(struct dash *d, const struct dash_ctx *c)
{
    static const char *const cols[] = {"Rubric",     "Shown in full", "Latest shown", "Exact",
                                       "Within one", "Kappa",         "Result"};
    Coachq__V1__Table *t;
    struct mine_walk w;
    int rc;

    memset(&w, 0, sizeof(w));
    w.d = d;
    /* The history's last moment, so both pages show the same attempts. */
    w.until_ms = ((int64_t)c->until_day + 1) * MINE_DAY_MS;
    t = dash_table(d, "observer-calibration", "Agreement with the master scores", cols,
                   sizeof(cols) / sizeof(cols[0]));
    if (t != NULL) {
        t->note = dash_strdup(
            d, "Your agreement with the master scores, from the calibration attempts you had "
               "shown in full (`coachq calibrate`), by rubric: how many, and the latest one's "
               "figures as `coachq calibrate --history` gives them (kappa is undefined when "
               "the master scores compared all fall in one category). Attempts not shown in "
               "full add nothing here. Agreement with other observers on double-coded "
               "sessions is shown to enablement leads and administrators only (privacy): it rests "
               "on their "
               "scores.");
    }
    rc = certs_results(c->t, c->subject, mine_cb, &w);
    if (rc == -ENOENT) {
        rc = 0;
    }
    if (rc != 0) {
        goto out;
    }
    if (w.n > 1) {
        qsort(w.r, w.n, sizeof(*w.r), rubric_cmp);
    }
    for (size_t i = 0; i < w.n && rc == 0; i++) {
        Coachq__V1__CalibrationResult *r = w.r[i].latest;
        Coachq__V1__TableRow *row;
        char at[40];

        rc = certs_attempt_figures(c->t, r, store_txn_policy(c->t));
        row = dash_row(d, t);
        dash_cell_text(d, row, w.r[i].rubric, NULL);
        dash_cell_count(d, row, w.r[i].shown);
        day_format_minute(r->at_ms, at, sizeof(at));
        dash_cell_text(d, row, at, NULL);
        if (rc == -ENOENT) {
            /* The attempt was erased since: no figures to give. */
            rc = 0;
            dash_cell_text(d, row, "erased", NULL);
            dash_cell_text(d, row, "erased", NULL);
            dash_cell_text(d, row, "erased", NULL);
        } else if (rc == 0) {
            dash_obs_agreement_cells(d, row, r);
        }
        dash_cell_text(d, row, r->passed ? "passed" : "not passed", NULL);
    }
    if (rc == 0) {
        rc = dash_failed(d);
    }
out:
    for (size_t i = 0; i < w.n; i++) {
        coachq__v1__calibration_result__free_unpacked(w.r[i].latest, NULL);
    }
    free(w.r);
    return rc;
}
