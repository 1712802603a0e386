#include "dash_selfreview.h"

#include <math.h>
#include <stdint.h>

Coachq__V1__Cell *dash_cell_share(struct dash *d, Coachq__V1__TableRow *r, uint64_t first,
                                  uint64_t n)
{
    unsigned nn = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;

    return dash_cell_num(d, r, n > 0 ? 100.0 * (double)first / (double)n : NAN, nn, 0);
}

/* A row: what is counted, how many, how many with the rep first, share. */
static void self_row(struct dash *d, Coachq__V1__Table *t, const char *what, uint64_t n,
                     uint64_t first)
{
    Coachq__V1__TableRow *r = dash_row(d, t);
    unsigned nn = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;

    dash_cell_text(d, r, what, NULL);
    dash_cell_count(d, r, n);
    dash_cell_num(d, r, (double)first, nn, 0);
    dash_cell_share(d, r, first, n);
}

void dash_self_review(struct dash *d, const Coachq__V1__AggWeek *total)
{
    static const char *const cols[] = {"Reviewed", "Sessions", "Rep first", "Share (%)"};
    Coachq__V1__Table *t = dash_table(d, "self-review", "Reps reviewing themselves first", cols, 4);

    if (t == NULL) {
        return;
    }
    t->note = (char *)"Over the page's weeks. Recorded calls: reviews of a recorded call, and "
                      "those where the rep commented before the manager did (asynchronous call "
                      "review, step 2). Observed sessions: every session observed, and those "
                      "where the observer marked the rep's self-assessment. Below the minimum n "
                      "of sessions the figures are not shown.";
    self_row(d, t, "Recorded calls", total->recordings, total->recordings_rep_first);
    self_row(d, t, "Observed sessions", total->observations, total->self_assess_n);
}

void dash_self_review_line(struct dash *d, const struct dash_mix_row *rows, size_t n)
{
    static const char *const cols[] = {"Manager", "Recorded calls", DASH_REP_FIRST_TITLE,
                                       "Rep self-assessed live (%)"};
    Coachq__V1__Table *t =
        dash_table(d, "self-review-line", "Reps reviewing themselves first", cols, 4);

    if (t == NULL) {
        return;
    }
    t->note = (char *)"Over the page's weeks. Recorded calls: reviews of a recorded call; the "
                      "share of them where the rep commented before the manager. Live: the share "
                      "of observed sessions where the observer marked the rep's self-assessment. "
                      "Below the minimum n of sessions a share is not shown.";
    for (size_t i = 0; i < n; i++) {
        const Coachq__V1__AggWeek *w = rows[i].w;
        Coachq__V1__TableRow *r = dash_row(d, t);

        dash_cell_text(d, r, rows[i].name, rows[i].link);
        dash_cell_count(d, r, w->recordings);
        dash_cell_share(d, r, w->recordings_rep_first, w->recordings);
        dash_cell_share(d, r, w->self_assess_n, w->observations);
    }
}
