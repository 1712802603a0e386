/*
 * dash_mom: moments (count, sum and sum of squares) of scores, and one
 * person's weeks of them, for the programme dashboards (dash_programme.c,
 * dash_did.c): a mean, a standard deviation and the difference of two spans
 * of weeks all follow from the three sums, so each person's weeks are read
 * from the aggregates once.
 *
 * Ownership: a struct dash_mom_weeks owns its array m (from
 * dash_mom_weeks_init(), freed with dash_mom_weeks_free()); its rubric is
 * borrowed from the dash_ctx it was made with, for as long as that context.
 * Errors are 0 or a negative code; nothing is logged.
 */
#ifndef COACHQ_DASH_MOM_H
#define COACHQ_DASH_MOM_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "dash_builder.h"

/* Behaviours of one rubric handled at most. */
#define DASH_MOM_MAX_BEHAVIOURS 64u

/* Count, sum and sum of squares of some scores. */
struct dash_mom {
    double n;
    double sum;
    double sumsq;
};

/* Adds src's sums into dst. */
void dash_mom_add(struct dash_mom *dst, const struct dash_mom *src);
/* The mean of m, NAN when it has no scores. */
double dash_mom_mean(const struct dash_mom *m);

/* A person's weeks from from_monday on: for week w, slot b < nb is
 * behaviour b, slot nb the quality index (per observation). */
struct dash_mom_weeks {
    const Coachq__V1__Rubric *rubric;
    size_t nb;
    int32_t from_monday;
    size_t nweeks;
    struct dash_mom *m; /* nweeks * (nb + 1) */
    uint64_t observations;
};

/* Sets w up for nweeks weeks from from_monday over c's rubric (capped at
 * DASH_MOM_MAX_BEHAVIOURS behaviours), all zero. Returns 0 or -ENOMEM;
 * free with dash_mom_weeks_free() either way. */
int dash_mom_weeks_init(struct dash_mom_weeks *w, const struct dash_ctx *c, int32_t from_monday,
                        size_t nweeks);
/* Replaces w's figures with the weeks of (kind, id, c->rubric_id).
 * Returns 0 or a negative code from the store. */
int dash_mom_weeks_read(const struct dash_ctx *c, struct dash_mom_weeks *w, enum agg_scope kind,
                        const char *id);
/* Slot slot of week week of w (borrowed from w). */
struct dash_mom *dash_mom_at(struct dash_mom_weeks *w, size_t week, size_t slot);
/* Frees w's array (safe twice, and after a failed init). */
void dash_mom_weeks_free(struct dash_mom_weeks *w);

#endif
