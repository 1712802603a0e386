/*
 * outcomes: business results imported from the CRM (domain.md, "Inputs,
 * quality, results"): one figure per (subject, team, period, metric).
 *
 * A subject is a person: a rep, or a manager (team set: the figure covers
 * the manager's team). A period is a month "YYYY-MM" or a quarter
 * "YYYY-Qn". A metric is one of the known ones (win_rate,
 * pipeline_coverage, quota_attainment, crm_completeness, and the input
 * sessions_held: coaching sessions a manager logged) or a deployment's own
 * name of [a-z0-9_], 1..40 bytes (outcomes_rules.h: periods and checks; outcomes_csv.h: the CSV
 * format; both in proto/, so that the client reads files as the server does). Putting the same key
 * again replaces the value, so an import is idempotent.
 *
 * Database outcomes: len(1) subject | team(1) | be32 period key | len(1)
 * metric -> Outcome.
 *
 * Every function works inside a transaction of the caller's (store_exec()
 * or store_view()); writers need a write transaction. Everything passed in
 * is borrowed for the call, and outcomes handed to a callback for that
 * call. Errors are negative errnos, or the store's codes that callers
 * inside store/ pass on untouched.
 */
#ifndef COACHQ_OUTCOMES_H
#define COACHQ_OUTCOMES_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "outcomes_rules.h"
#include "validate.h"

struct store_txn;

/*
 * Stores o (write transaction) after outcomes_check(); the subject must be
 * a known person (-ENOENT otherwise). *state (may be NULL) gets 0 unchanged,
 * 1 added, 2 changed. imported_at_ms is not compared. Returns 0, -EINVAL,
 * -ENOENT, -EROFS or a store code to pass on.
 */
int outcomes_put(struct store_txn *t, const Coachq__V1__Outcome *o, int *state);

/*
 * Calls cb for every outcome of subject (NULL: every subject) whose period
 * overlaps [from_day, until_day], in key order (o borrowed for the call;
 * cb returns 0 to go on, 1 to stop, < 0 to fail). Any transaction.
 */
typedef int (*outcomes_cb)(const Coachq__V1__Outcome *o, void *arg);
int outcomes_list(struct store_txn *t, const char *subject, int32_t from_day, int32_t until_day,
                  outcomes_cb cb, void *arg);

/*
 * Stores every row in the caller's write transaction: all or nothing. An
 * unknown subject or a bad field fails the whole import with -EINVAL and a
 * fault naming "outcomes[i].<field>". Adds an audit entry (actor, origin).
 * Counts go to *res. Returns 0 or a negative code.
 */
int outcomes_import_txn(struct store_txn *t, Coachq__V1__Outcome *const *rows, size_t n,
                        int64_t now_ms, const char *actor, const char *origin,
                        Coachq__V1__ImportResult *res, struct validate_error *fault);

#endif
