/*
 * dash_obs_history: one observer's calibration history, the page that
 * Observer reliability's observer names link to (/d/observers/ID, and the
 * same over the API, as CSV and in `coachq dashboard observers ID`). Every
 * attempt of the page's rubric up to the page's last day, oldest first:
 * when, the reference session, which attempt in the window, the agreement
 * figures the server recorded (over the latest attempt of every reference
 * of the rubric, which is what certification is judged on), pass or fail,
 * and whether the observer was shown the attempt in full (which spends the
 * reference for them). Enablement leads and administrators only, as the
 * page it hangs from; an observer's own figures are theirs to read in the
 * CLI (`coachq calibrate --history`).
 */
#include "dash_obs_history.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "certs.h"
#include "day.h"
#include "people.h"
#include "uuid.h"

#define HIST_DAY_MS ((int64_t)86400 * 1000)

struct hist_walk {
    struct dash *d;
    const struct dash_ctx *c;
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch; /* exact agreement and kappa, attempt by attempt */
    Coachq__V1__Series *s_exact;
    Coachq__V1__Series *s_kappa;
    int64_t until_ms;
    size_t n;
};

/* The reference's title, or its id when it is gone. */
static const char *ref_title(struct hist_walk *w, const Coachq__V1__CalibrationResult *r)
{
    Coachq__V1__CalibrationReference *ref = NULL;
    char id[UUID_STR_LEN];
    const char *title;

    if (r->reference_id.len != UUID_LEN) {
        return "";
    }
    if (certs_reference_get(w->c->t, r->reference_id.data, &ref) == 0 && ref->title != NULL &&
        ref->title[0] != '\0') {
        title = dash_printf(w->d, "%s%s", ref->title, ref->retired_at_ms != 0 ? " (retired)" : "");
    } else {
        title = dash_strdup(w->d, uuid_format(r->reference_id.data, id));
    }
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    return title;
}

void dash_obs_agreement_cells(struct dash *d, Coachq__V1__TableRow *row,
                              const Coachq__V1__CalibrationResult *r)
{
    Coachq__V1__Cell *cell;

    dash_cell_num(d, row, r->n > 0 ? r->exact : NAN, r->n, 2);
    dash_cell_num(d, row, r->n > 0 ? r->within_one : NAN, r->n, 2);
    cell = dash_cell_num(d, row, r->n > 0 && !r->kappa_undefined ? r->kappa : NAN, r->n, 2);
    if (cell != NULL && r->n > 0 && r->kappa_undefined && !cell->insufficient) {
        cell->text = (char *)"undefined: one category";
    }
}

static int hist_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct hist_walk *w = arg;
    struct dash *d = w->d;
    Coachq__V1__TableRow *row;
    char at[40];

    if (r->rubric_id == NULL || strcmp(r->rubric_id, w->c->rubric_id) != 0 ||
        r->at_ms >= w->until_ms) {
        return 0;
    }
    row = dash_row(d, w->t);
    day_format_minute(r->at_ms, at, sizeof(at));
    dash_cell_text(d, row, at, NULL);
    dash_cell_text(d, row, ref_title(w, r), NULL);
    dash_cell_text(d, row,
                   r->attempts_allowed > 0 ? dash_printf(d, "%u of %u", (unsigned)r->attempt,
                                                         (unsigned)r->attempts_allowed)
                                           : dash_printf(d, "%u", (unsigned)r->attempt),
                   NULL);
    dash_obs_agreement_cells(d, row, r);
    dash_cell_text(d, row, r->passed ? "passed" : "not passed", NULL);
    dash_cell_text(d, row, r->revealed_at_ms != 0 ? "yes" : "no", NULL);
    dash_chart_x(d, w->ch, dash_day_text((int32_t)(r->at_ms / HIST_DAY_MS), (char[16]){0}, 16));
    dash_series_add(d, w->s_exact, r->n > 0 ? r->exact : NAN, r->n, NAN, NAN);
    dash_series_add(d, w->s_kappa, r->n > 0 && !r->kappa_undefined ? r->kappa : NAN, r->n, NAN,
                    NAN);
    w->n++;
    return dash_failed(d);
}

int dash_obs_history(struct dash *d, const struct dash_ctx *c)
{
    static const char *const cols[] = {"At",         "Reference", "Attempt", "Exact",
                                       "Within one", "Kappa",     "Result",  "Shown in full"};
    Coachq__V1__Person *p = NULL;
    struct hist_walk w;
    int rc;

    rc = people_get(c->t, c->subject, &p);
    if (rc == 0 && !people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER)) {
        rc = -ENOENT;
    }
    if (rc == 0 && p->name != NULL && p->name[0] != '\0') {
        /* The heading names the observer, as person pages do. */
        dash_msg(d)->subject_name = dash_strdup(d, p->name);
    }
    coachq__v1__person__free_unpacked(p, NULL);
    if (rc != 0) {
        return rc == -EINVAL ? -ENOENT : rc;
    }
    memset(&w, 0, sizeof(w));
    w.d = d;
    w.c = c;
    w.until_ms = ((int64_t)c->until_day + 1) * HIST_DAY_MS;
    w.ch = dash_chart(d, "calibration-chart", "Calibration agreement, attempt by attempt",
                      COACHQ__V1__CHART__KIND__KIND_BARS, "calibration-history");
    w.s_exact = dash_series(d, w.ch, "Exact agreement", 0);
    w.s_kappa = dash_series(d, w.ch, "Weighted kappa", 0);
    if (w.ch != NULL) {
        w.ch->y_title = dash_strdup(d, "agreement with the master scores");
    }
    w.t = dash_table(d, "calibration-history", "Calibration history", cols,
                     sizeof(cols) / sizeof(cols[0]));
    if (w.t != NULL) {
        w.t->note = dash_printf(
            d,
            "Every calibration attempt at a reference session of this rubric up to %s. The "
            "figures are those certification was judged on: agreement with the master scores "
            "over the latest attempt at every reference of the rubric. 'Shown in full': the "
            "observer saw this attempt's figures and differences, so that reference takes no "
            "more attempts from them.",
            dash_day_text(c->until_day, (char[16]){0}, 16));
    }
    rc = certs_results(c->t, c->subject, hist_cb, &w);
    if (rc != 0) {
        return rc;
    }
    if (w.n == 0) {
        dash_note(d, "No calibration attempts at this rubric's reference sessions.");
    }
    return dash_failed(d);
}
