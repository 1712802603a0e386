/*
 * dash: the five dashboards, computed from aggregates (agg.h), the
 * organisation (people.h), certifications (certs.h) and business results
 * (outcomes.h) into one Dashboard message: tables of cells and the charts
 * drawn from them. Every page, API call, CSV export and the protocol's
 * GetDashboard serve this same message, so their figures cannot disagree.
 *
 * Rules every dashboard keeps (domain.md, "Inputs, quality, results"):
 * every figure carries its n; a figure whose n is below opts->min_n is
 * "insufficient data" and has no value (dash_cell_num() does that); a group
 * of fewer than opts->privacy_min people is not broken down.
 *
 * This is the public API that the ports (web/, server/) use: dash_build()
 * here, and from dash_builder.h (included below) the options (struct
 * dash_opts, dash_opts_default()), the message (dash_message()) and
 * dash_free(). dash_builder.h is also the builder API the dashboards
 * themselves are written in; the dispatcher (dash.c) calls them through a
 * table of kinds and they never call back into it.
 *
 * Ownership: a dash from dash_build() is the caller's, freed with
 * dash_free(); every string and array of its message lives in the dash's
 * arena until then. Not thread-safe; one dash per thread.
 */
#ifndef COACHQ_DASH_H
#define COACHQ_DASH_H

#include <stdint.h>

#include "auth.h"
#include "coachq.pb-c.h"
#include "dash_builder.h"
#include "validate.h"

struct store_txn;

/* The rubric of a request that names none. */
#define DASH_DEFAULT_RUBRIC "coaching-conversation"

/*
 * Builds the dashboard req asks for, as user u sees it, in read transaction
 * t (borrowed for the call), "today" being now_s, with opts (NULL: the
 * defaults; zero fields defaulted, windows capped). Access is decided by
 * auth_decide(AUTH_DASHBOARD) before anything is read. Returns 0 and sets
 * *out (caller owns, free with dash_free()), -ENOENT when the subject does
 * not exist or u may not see it (the same answer, so nobody learns who
 * exists), -EACCES when u's roles have no such dashboard at all, -EINVAL
 * with fault (may be NULL) set for a malformed request, or another negative
 * code. *out is NULL after any failure.
 */
int dash_build(struct store_txn *t, const struct auth_user *u, const Coachq__V1__GetDashboard *req,
               const struct dash_opts *opts, int64_t now_s, struct dash **out,
               struct validate_error *fault);

/* Dashboard kinds by URL name: dashfmt_kind_name() / dashfmt_kind_from_name(). */

#endif
