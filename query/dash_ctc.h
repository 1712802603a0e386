/*
 * dash_ctc: coaching the coach on the dashboards (docs/dashboards.md,
 * "Coaching the coaches").
 *
 * A rubric whose coach_role is the second-level manager's (the shipped
 * coaching-the-coach) scores a second-level manager coaching one of their
 * own front-line managers; those sessions are aggregated like any other,
 * under the second-level manager as the coach. This module draws them:
 *
 *   - dash_coaching_managers(): the dashboard "Coaching my managers"
 *     (DASHBOARD_KIND_COACHING_MANAGERS), a second-level manager's own
 *     coaching of their managers beside their line's front-line quality,
 *     the managers they coached, and whether the managers they coached well
 *     coached better afterwards;
 *   - dash_ctc_programme(): Programme impact's tables of every second-level
 *     manager's coaching beside their line's front-line quality, and the
 *     same question over the whole programme.
 *
 * Which rubric is which: when the page's rubric is a coaching-the-coach
 * rubric it is the one read for the second-level managers' coaching and
 * the front-line quality is DASH_DEFAULT_RUBRIC's; otherwise the page's
 * rubric is the front-line one and DASH_CTC_RUBRIC the other.
 *
 * Cost: the weeks asked for per person (agg_read()), and at most
 * DASH_CTC_MAX_SESSIONS of each second-level manager's newest sessions
 * (store_recent_txn()) for the question, never the number of observations.
 * Both run on the thread of the dash_build() call.
 */
#ifndef COACHQ_DASH_CTC_H
#define COACHQ_DASH_CTC_H

#include "dash_builder.h"

/* The shipped rubric for coaching the coach. */
#define DASH_CTC_RUBRIC "coaching-the-coach"
/* Weeks before and after a review that the question compares. */
#define DASH_CTC_LATER_WEEKS 12u
/* Weeks back in which reviews are taken for the question. */
#define DASH_CTC_QUESTION_WEEKS 52u
/* A second-level manager's newest sessions read for the question. */
#define DASH_CTC_MAX_SESSIONS 256u

/* DASHBOARD_KIND_COACHING_MANAGERS: c->subject is a second-level manager. */
int dash_coaching_managers(struct dash *d, const struct dash_ctx *c);

/* Appends Programme impact's coaching-the-coach tables to d. */
int dash_ctc_programme(struct dash *d, const struct dash_ctx *c);

#endif
