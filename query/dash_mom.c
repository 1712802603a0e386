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

_Static_assert(DASH_MOM_MAX_BEHAVIOURS <= AGG_SLOT_IDS_MAX, "agg_read_slots() takes the rubric");

/* The ids of rubric r's first nb behaviours into ids, for agg_read_slots()
 * to find each stored behaviour's place in the rubric: an aggregate lists
 * its behaviours in the order the records rated them, which is nearly
 * always the rubric's, so it tries that position first. */
static void rubric_ids(const Coachq__V1__Rubric *r, size_t nb, const char **ids)
{
    for (size_t b = 0; b < nb; b++) {
        ids[b] = r->behaviours[b]->id;
    }
}

struct dash_mom *dash_mom_at(struct dash_mom_weeks *w, size_t week, size_t slot)
{
    return &w->m[week * (w->nb + 1) + slot];
}

static int weeks_cb(int32_t monday, const struct agg_slots *a, void *arg)
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
    for (size_t i = 0; i < a->nb; i++) {
        const struct agg_slot_beh *b = &a->b[i];

        if (b->slot >= 0) {
            struct dash_mom *m = dash_mom_at(w, week, (size_t)b->slot);

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
    const char *ids[DASH_MOM_MAX_BEHAVIOURS];
    int32_t last = w->from_monday + 7 * (int32_t)(w->nweeks - 1);

    memset(w->m, 0, w->nweeks * (w->nb + 1) * sizeof(*w->m));
    w->observations = 0;
    rubric_ids(w->rubric, w->nb, ids);
    /* Every week with its behaviours, as agg_read() gives them. */
    return agg_read_slots(c->t, dash_agg_kind(c, kind), id, c->rubric_id, w->from_monday, last,
                          w->from_monday, last, ids, w->nb, weeks_cb, w);
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

/* ---- Many people's weeks ------------------------------------------------ */

struct set_read {
    struct dash_mom_set *s;
    size_t person;
};

static int set_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    struct set_read *sr = arg;
    struct dash_mom_set *s = sr->s;
    size_t slots = s->nb + 1;
    size_t k;
    struct dash_mom *ix;

    if (monday < s->from_monday || (monday - s->from_monday) % 7 != 0) {
        return 0;
    }
    k = (size_t)((monday - s->from_monday) / 7);
    if (k >= s->nweeks) {
        return 0;
    }
    ix = &s->index[sr->person * s->nweeks + k];
    ix->n += (double)a->index_n;
    ix->sum += a->index_sum;
    ix->sumsq += a->index_sumsq;
    s->obs[sr->person * s->nweeks + k] += a->observations;
    if (monday < s->full_from || (size_t)((monday - s->full_from) / 7) >= s->full_weeks) {
        return 0;
    }
    {
        /* The week's own row for now (row k + 1 of the person's totals):
         * dash_mom_set_read() turns the rows into running totals once
         * every week is in. */
        struct dash_mom *row = &s->full[(sr->person * (s->full_weeks + 1) + 1 +
                                         (size_t)((monday - s->full_from) / 7)) *
                                        slots];
        unsigned char *filled =
            &s->filled[sr->person * s->full_weeks + (size_t)((monday - s->full_from) / 7)];

        if (!*filled) {
            memset(row, 0, slots * sizeof(*row));
            *filled = 1;
        }

        /* agg_read_slots() found each behaviour's place in the rubric. */
        for (size_t i = 0; i < a->nb; i++) {
            const struct agg_slot_beh *b = &a->b[i];

            if (b->slot >= 0) {
                row[b->slot].n += (double)b->count;
                row[b->slot].sum += b->sum;
                row[b->slot].sumsq += b->sumsq;
            }
        }
        row[s->nb] = *ix;
        if (s->mix != NULL) {
            uint64_t *to =
                &s->mix[(2 * sr->person + (monday >= s->mix_split[sr->person])) * AGG_NMIX];

            for (size_t i = 0; i < AGG_NMIX; i++) {
                to[i] += a->mix[i];
            }
        }
    }
    return 0;
}

int dash_mom_set_mix(struct dash_mom_set *s, size_t n, const int32_t *split)
{
    s->mix_split = split;
    s->mix = calloc(2 * n * AGG_NMIX + 1, sizeof(*s->mix));
    return s->mix != NULL ? 0 : -ENOMEM;
}

/* Turns every person's week rows in s->full (rows 1..full_weeks, row 0
 * zero) into running totals, in place: row k + 1 becomes row k plus week
 * k, slot by slot and oldest week first, the additions a reader summing
 * the weeks in order would make. Done once per page, so that a reader of
 * spans (dash_did.c, two passes over the managers) subtracts two rows
 * instead of summing the weeks again per pass. */
static void set_running(struct dash_mom_set *s)
{
    size_t slots = s->nb + 1;

    for (size_t i = 0; i < s->n; i++) {
        struct dash_mom *m = &s->full[i * (s->full_weeks + 1) * slots];

        memset(m, 0, slots * sizeof(*m));
        for (size_t k = 0; k < s->full_weeks; k++) {
            const struct dash_mom *lo = &m[k * slots];
            struct dash_mom *hi = &m[(k + 1) * slots];

            if (!s->filled[i * s->full_weeks + k]) {
                /* A week the read gave nothing for adds zeros, as a
                 * zeroed row would (the same sums, bit for bit). */
                for (size_t b = 0; b < slots; b++) {
                    hi[b].n = lo[b].n + 0.0;
                    hi[b].sum = lo[b].sum + 0.0;
                    hi[b].sumsq = lo[b].sumsq + 0.0;
                }
                continue;
            }
            for (size_t b = 0; b < slots; b++) {
                hi[b].n = lo[b].n + hi[b].n;
                hi[b].sum = lo[b].sum + hi[b].sum;
                hi[b].sumsq = lo[b].sumsq + hi[b].sumsq;
            }
        }
    }
}

int dash_mom_set_read(const struct dash_ctx *c, struct dash_mom_set *s, enum agg_scope kind,
                      const struct dash_ids *ids, int32_t from_monday, size_t nweeks,
                      int32_t full_from, size_t full_weeks)
{
    size_t nb = c->rubric->n_behaviours;
    int32_t last = from_monday + 7 * (int32_t)nweeks - 7;
    const int32_t *mix_split = s->mix_split;
    uint64_t *mix = s->mix;
    const char *bids[DASH_MOM_MAX_BEHAVIOURS];
    int rc = 0;

    memset(s, 0, sizeof(*s));
    s->mix_split = mix_split;
    s->mix = mix;
    if (nb > DASH_MOM_MAX_BEHAVIOURS) {
        nb = DASH_MOM_MAX_BEHAVIOURS;
    }
    if (nweeks == 0 || full_weeks == 0 || full_from < from_monday ||
        (full_from - from_monday) % 7 != 0 || full_from + 7 * (int32_t)full_weeks - 7 > last) {
        return -EINVAL;
    }
    s->rubric = c->rubric;
    s->nb = nb;
    s->n = ids->n;
    s->from_monday = from_monday;
    s->nweeks = nweeks;
    s->full_from = full_from;
    s->full_weeks = full_weeks;
    /* Not zeroed as a whole (2.8 MB a page for bench_dash's 200 managers,
     * 53 rows of 11 slots each): a row is zeroed when its week is first
     * read, and set_running() makes the weeks left unread from the week
     * before, so that an unread week's row is written once (a read one is
     * still written three times: zeroed, added to, made a total). */
    s->full = malloc((ids->n * (full_weeks + 1) * (nb + 1) + 1) * sizeof(*s->full));
    s->filled = calloc(ids->n * full_weeks + 1, 1);
    s->index = calloc(ids->n * nweeks + 1, sizeof(*s->index));
    s->obs = calloc(ids->n * nweeks + 1, sizeof(*s->obs));
    if (s->full == NULL || s->filled == NULL || s->index == NULL || s->obs == NULL) {
        return -ENOMEM;
    }
    rubric_ids(s->rubric, nb, bids);
    for (size_t i = 0; i < ids->n && rc == 0; i++) {
        struct set_read sr = {s, i};

        /* Behaviours only for the full window (set_cb ignores them
         * elsewhere): the long window's other weeks give their index and
         * observations alone. A front-line manager's weeks come from the
         * impact blocks (a value per 16 weeks); a behaviour a week has
         * none of comes with zero figures, which add nothing. */
        if (kind == AGG_COACH) {
            rc = agg_read_impact(c->t, dash_agg_kind(c, kind), ids->id[i], c->rubric_id,
                                 from_monday, last, full_from,
                                 full_from + 7 * (int32_t)full_weeks - 7, bids, nb, set_cb, &sr);
        } else {
            rc = agg_read_slots(c->t, dash_agg_kind(c, kind), ids->id[i], c->rubric_id, from_monday,
                                last, full_from, full_from + 7 * (int32_t)full_weeks - 7, bids, nb,
                                set_cb, &sr);
        }
    }
    if (rc == 0) {
        set_running(s);
    }
    return rc;
}

void dash_mom_set_view(const struct dash_mom_set *s, size_t i, struct dash_mom_weeks *view)
{
    size_t off = (size_t)((s->full_from - s->from_monday) / 7);

    memset(view, 0, sizeof(*view));
    view->rubric = s->rubric;
    view->nb = s->nb;
    view->from_monday = s->full_from;
    view->nweeks = s->full_weeks;
    view->m = NULL;
    view->observations = dash_mom_set_observations(s, i, off, off + s->full_weeks);
}

const struct dash_mom *dash_mom_set_totals(const struct dash_mom_set *s, size_t i)
{
    return &s->full[i * (s->full_weeks + 1) * (s->nb + 1)];
}

const struct dash_mom *dash_mom_set_index(const struct dash_mom_set *s, size_t i, size_t k)
{
    return &s->index[i * s->nweeks + k];
}

uint64_t dash_mom_set_observations(const struct dash_mom_set *s, size_t i, size_t from, size_t to)
{
    uint64_t n = 0;

    for (size_t k = from; k < to && k < s->nweeks; k++) {
        n += s->obs[i * s->nweeks + k];
    }
    return n;
}

void dash_mom_set_free(struct dash_mom_set *s)
{
    free(s->full);
    free(s->filled);
    free(s->index);
    free(s->obs);
    free(s->mix);
    memset(s, 0, sizeof(*s));
}
