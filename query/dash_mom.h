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

/*
 * Many people's weeks of one scope kind, each person's read once (one
 * agg_read_slots() each) and then looked at as often as a page needs: the
 * programme dashboard's impact, cohorts and quarters all read the same
 * front-line managers' weeks, which used to be read up to four times.
 *
 * Two windows: the long one (from_monday, nweeks) keeps each week's quality
 * index and observations; the full one (full_from, full_weeks), which lies
 * inside it, keeps every behaviour too. Memory: people x ((full_weeks + 1)
 * x (behaviours + 1) + nweeks) moments, and people x full_weeks bytes of
 * which weeks were read.
 */
struct dash_mom_set {
    const Coachq__V1__Rubric *rubric;
    size_t nb;
    size_t n; /* people */
    int32_t from_monday;
    size_t nweeks;
    int32_t full_from;
    size_t full_weeks;
    /* n * (full_weeks + 1) * (nb + 1): person i's running totals over the
     * full window, row k (of full_weeks + 1) summing weeks 0..k-1 slot by
     * slot, added oldest week first (row 0 is zero), so that any span of
     * weeks is one subtraction (dash_mom_set_totals()). */
    struct dash_mom *full;
    /* n * full_weeks: the week's row of full was written by the read (the
     * others are left unwritten, not zeroed, until the totals are made) */
    unsigned char *filled;
    struct dash_mom *index; /* n * nweeks: the quality index */
    uint64_t *obs;          /* n * nweeks: observations */
    /* Optional (dash_mom_set_mix()): person i's coaching mix over the full
     * window, split at mix_split[i] (the first Monday counted "after"):
     * mix[(2 * i) * AGG_NMIX ..] before, mix[(2 * i + 1) * AGG_NMIX ..]
     * from it. Read with the rest, so that no page reads the weeks
     * twice. */
    const int32_t *mix_split;
    uint64_t *mix;
};

/* Asks the next dash_mom_set_read() of s for the mix split at split[i]
 * (borrowed until the read is done); call after zeroing s. Returns 0 or
 * -ENOMEM. */
int dash_mom_set_mix(struct dash_mom_set *s, size_t n, const int32_t *split);

/* Reads the weeks of (kind, ids->id[i], c->rubric_id) for every i into s
 * (caller owns, free with dash_mom_set_free(), also after a failure). The
 * full window must lie inside the long one. Returns 0, -ENOMEM, -EINVAL for
 * windows that do not nest, or a negative code from the store. */
int dash_mom_set_read(const struct dash_ctx *c, struct dash_mom_set *s, enum agg_scope kind,
                      const struct dash_ids *ids, int32_t from_monday, size_t nweeks,
                      int32_t full_from, size_t full_weeks);
/* Points view at person i's full window: its weeks, behaviours and
 * view->observations (that window's observations); view->m is NULL, since
 * s keeps the weeks as running totals only (dash_mom_set_totals()). */
void dash_mom_set_view(const struct dash_mom_set *s, size_t i, struct dash_mom_weeks *view);
/* Person i's running totals over the full window (borrowed from s; only
 * after a dash_mom_set_read() that returned 0, and until
 * dash_mom_set_free()): full_weeks + 1 rows of nb + 1 slots, row k summing
 * weeks 0..k-1, row 0 zero. */
const struct dash_mom *dash_mom_set_totals(const struct dash_mom_set *s, size_t i);
/* Person i's quality index in week k of the long window (borrowed). */
const struct dash_mom *dash_mom_set_index(const struct dash_mom_set *s, size_t i, size_t k);
/* Person i's observations in weeks [from, to) of the long window. */
uint64_t dash_mom_set_observations(const struct dash_mom_set *s, size_t i, size_t from, size_t to);
/* Frees s's arrays and zeroes it (safe on a zeroed set). */
void dash_mom_set_free(struct dash_mom_set *s);

#endif
