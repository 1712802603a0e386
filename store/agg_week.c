/*
 * agg_week: summing weeks of the aggregates as dashboards read them
 * (agg.h: agg_week_add(), agg_week_add_counts(), agg_week_clear()), apart
 * from agg.c, which reads and decodes the stored values.
 */
#include "agg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void agg_week_clear(Coachq__V1__AggWeek *w)
{
    Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;

    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n_behaviours; i++) {
        if (w->behaviours[i] != NULL) {
            free(w->behaviours[i]->id);
            free(w->behaviours[i]);
        }
    }
    free(w->behaviours);
    free(w->markers);
    free(w->pairs);
    free(w->mix);
    free(w->mix_q);
    *w = init;
}

/* Grows a double array of dst to n entries (zero-filled). */
static int grow_f64(double **arr, size_t *have, size_t n)
{
    double *a;

    if (*have >= n) {
        return 0;
    }
    a = realloc(*arr, n * sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    for (size_t i = *have; i < n; i++) {
        a[i] = 0;
    }
    *arr = a;
    *have = n;
    return 0;
}

/* Grows a uint64 array of dst to n entries (zero-filled). */
static int grow_u64(uint64_t **arr, size_t *have, size_t n)
{
    uint64_t *a;

    if (*have >= n) {
        return 0;
    }
    a = realloc(*arr, n * sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    memset(a + *have, 0, (n - *have) * sizeof(*a));
    *arr = a;
    *have = n;
    return 0;
}

int agg_week_add(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src)
{
    for (size_t i = 0; i < src->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *sb = src->behaviours[i];
        Coachq__V1__AggBehaviour *db = NULL;

        if (sb == NULL || sb->id == NULL) {
            continue;
        }
        for (size_t j = 0; j < dst->n_behaviours; j++) {
            if (strcmp(dst->behaviours[j]->id, sb->id) == 0) {
                db = dst->behaviours[j];
                break;
            }
        }
        if (db == NULL) {
            Coachq__V1__AggBehaviour init = COACHQ__V1__AGG_BEHAVIOUR__INIT;
            Coachq__V1__AggBehaviour **arr =
                realloc(dst->behaviours, (dst->n_behaviours + 1) * sizeof(*arr));

            if (arr == NULL) {
                return -ENOMEM;
            }
            dst->behaviours = arr;
            db = malloc(sizeof(*db));
            if (db == NULL) {
                return -ENOMEM;
            }
            *db = init;
            db->id = strdup(sb->id);
            if (db->id == NULL) {
                free(db);
                return -ENOMEM;
            }
            dst->behaviours[dst->n_behaviours++] = db;
        }
        db->count += sb->count;
        db->sum += sb->sum;
        db->sumsq += sb->sumsq;
        db->proficient += sb->proficient;
    }
    if (grow_u64(&dst->markers, &dst->n_markers, src->n_markers) != 0 ||
        grow_u64(&dst->pairs, &dst->n_pairs, src->n_pairs) != 0 ||
        grow_u64(&dst->mix, &dst->n_mix, src->n_mix) != 0 ||
        grow_f64(&dst->mix_q, &dst->n_mix_q, src->n_mix_q) != 0) {
        return -ENOMEM;
    }
    agg_week_add_counts(dst, src);
    return 0;
}

void agg_week_add_counts(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src)
{
    for (size_t i = 0; i < src->n_markers && i < dst->n_markers; i++) {
        dst->markers[i] += src->markers[i];
    }
    for (size_t i = 0; i < src->n_pairs && i < dst->n_pairs; i++) {
        dst->pairs[i] += src->pairs[i];
    }
    for (size_t i = 0; i < src->n_mix && i < dst->n_mix; i++) {
        dst->mix[i] += src->mix[i];
    }
    for (size_t i = 0; i < src->n_mix_q && i < dst->n_mix_q; i++) {
        dst->mix_q[i] += src->mix_q[i];
    }
    dst->observations += src->observations;
    dst->seconds += src->seconds;
    dst->index_n += src->index_n;
    dst->index_sum += src->index_sum;
    dst->index_sumsq += src->index_sumsq;
    dst->self_assess_n += src->self_assess_n;
    dst->self_assess_s_sum += src->self_assess_s_sum;
    dst->actions += src->actions;
    dst->double_coded += src->double_coded;
    dst->recordings += src->recordings;
    dst->recordings_rep_first += src->recordings_rep_first;
}
