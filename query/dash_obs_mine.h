/*
 * dash_obs_mine: My reliability's table of the observer's own agreement
 * with the master scores, from the calibration attempts they had shown in
 * full (`coachq calibrate`).
 *
 * dash_obs_mine() adds the table "observer-calibration" to d for the
 * page's observer (c->subject): one row per rubric with an attempt shown
 * in full up to the page's last day, giving how many were shown and the
 * latest one's figures, which are those `coachq calibrate --history` shows
 * the observer (certs_attempt_figures()). Attempts never shown in full add
 * nothing. Returns 0, -ENOMEM when d has failed, or a negative code from
 * the store.
 */
#ifndef COACHQ_DASH_OBS_MINE_H
#define COACHQ_DASH_OBS_MINE_H

#include "dash_builder.h"

int dash_obs_mine(struct dash *d, const struct dash_ctx *c);

#endif
