/*
 * dash_did: the difference-in-differences of "Programme impact"
 * (dash_programme.h): quality before and after training, managers trained
 * in the window against those not yet trained, stacked by training week
 * with standard errors clustered by manager; a placebo check on the weeks
 * before training; and both groups' quality in the weeks before training.
 * See dash_did.c for the design.
 *
 * Errors: 0, -ENOMEM (d failed or memory ran out), or a negative code from
 * the store. Nothing is logged.
 */
#ifndef COACHQ_DASH_DID_H
#define COACHQ_DASH_DID_H

#include <stdint.h>

#include "dash_builder.h"
#include "dash_mom.h"

/*
 * Adds the impact, placebo and pre-trend tables and charts to d for the
 * front-line managers flm, whose training weeks are cweek (flm->n Mondays
 * of each one's earliest completion by c->until_day, 0 for none), over the
 * full window of set, which holds the weeks of flm's managers in the same
 * order (dash_mom_set_read(): nothing is read here). flm, cweek, set and c
 * are borrowed for the call; what is added lives in d's arena.
 */
int dash_did_impact(struct dash *d, const struct dash_ctx *c, const struct dash_ids *flm,
                    const int32_t *cweek, const struct dash_mom_set *set);

#endif
