/*
 * dash_mom: moments (count, sum and sum of squares) of scores, and one
 * person's weeks of them per behaviour, read from the weekly aggregates.
 * The programme dashboards (dash_programme.c, dash_did.c) add and subtract
 * them to compare groups and spans of weeks without reading any week twice.
 */
#include "dash_mom.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void dash_mom_add(struct dash_mom *dst, const struct dash_mom *src)
{
    dst->n += src->n;
    dst->sum += src->sum;
    dst->sumsq += src->sumsq;
}

double dash_mom_mean(const struct dash_mom *m)
{
    return m->n > 0 ? m->sum / m->n : NAN;
}

/* The index of behaviour bid in the rubric, or -1. */
static int beh_index(const Coachq__V1__Rubric *r, size_t nb, const char *bid)
{
    for (size_t i = 0; i < nb; i++) {
        if (strcmp(r->behaviours[i]->id, bid) == 0) {
            return (int)i;
        }
    }
    return -1;
}

struct dash_mom *dash_mom_at(struct dash_mom_weeks *w, size_t week, size_t slot)
{
    return &w->m[week * (w->nb + 1) + slot];
}

static int weeks_cb(int32_t monday, const Coachq__V1__AggWeek *a, void *arg)
{
    struct dash_mom_weeks *w = arg;
    size_t week;

    if (monday < w->from_monday || (monday - w->from_monday) % 7 != 0) {
        return 0;
    }
    week = (size_t)((monday - w->from_monday) / 7);
    if (week >= w->nweeks) {
        return 0;
    }
    for (size_t i = 0; i < a->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *b = a->behaviours[i];
        int k;

        if (b->id == NULL) {
            continue;
        }
        k = beh_index(w->rubric, w->nb, b->id);
        if (k >= 0) {
            struct dash_mom *m = dash_mom_at(w, week, (size_t)k);

            m->n += (double)b->count;
            m->sum += b->sum;
            m->sumsq += b->sumsq;
        }
    }
    {
        struct dash_mom *m = dash_mom_at(w, week, w->nb);

        m->n += (double)a->index_n;
        m->sum += a->index_sum;
        m->sumsq += a->index_sumsq;
    }
    w->observations += a->observations;
    return 0;
}

int dash_mom_weeks_read(const struct dash_ctx *c, struct dash_mom_weeks *w, enum agg_scope kind,
                        const char *id)
{
    memset(w->m, 0, w->nweeks * (w->nb + 1) * sizeof(*w->m));
    w->observations = 0;
    return agg_read(c->t, kind, id, c->rubric_id, w->from_monday,
                    w->from_monday + 7 * (int32_t)(w->nweeks - 1), weeks_cb, w);
}

int dash_mom_weeks_init(struct dash_mom_weeks *w, const struct dash_ctx *c, int32_t from_monday,
                        size_t nweeks)
{
    memset(w, 0, sizeof(*w));
    w->rubric = c->rubric;
    w->nb = c->rubric->n_behaviours;
    if (w->nb > DASH_MOM_MAX_BEHAVIOURS) {
        w->nb = DASH_MOM_MAX_BEHAVIOURS;
    }
    w->from_monday = from_monday;
    w->nweeks = nweeks;
    w->m = calloc(nweeks * (w->nb + 1), sizeof(*w->m));
    return w->m == NULL ? -ENOMEM : 0;
}

void dash_mom_weeks_free(struct dash_mom_weeks *w)
{
    free(w->m);
    w->m = NULL;
}
