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
 * One stored figure as outcomes_figures() hands it over: subject, team,
 * period and metric read from its key, the value from the stored bytes
 * without unpacking the message. subject and metric are borrowed for the
 * call and not NUL-terminated.
 */
struct outcomes_fig {
    const char *subject;
    size_t subject_len;
    const char *metric;
    size_t metric_len;
    int32_t first_day; /* the first day of the period */
    int quarter;       /* 1 for a quarter, 0 for a month */
    int team;          /* 1 for the manager's team's figure */
    double value;
};

/*
 * As outcomes_list(), with each figure handed over as f (borrowed for the
 * call) rather than as an unpacked message: for pages that read many
 * figures and need only these fields. A stored value that cannot be read
 * or a key that cannot hold its fields fails the list with -EIO. Any
 * transaction; the caller's thread.
 */
typedef int (*outcomes_fig_cb)(const struct outcomes_fig *f, void *arg);
int outcomes_figures(struct store_txn *t, const char *subject, int32_t from_day, int32_t until_day,
                     outcomes_fig_cb cb, void *arg);

/*
 * Hands cb each subject (id and length, borrowed for the call, in key
 * order: by length, then bytes) with at least one figure of its own (team
 * 0), whatever its periods: one seek per stored subject, reading none of
 * their figures. Stops with 1 once max subjects have been visited (those
 * with figures of their own or not): the caller then reads per subject as
 * before. A key too short to name its subject is stepped over. Returns 0,
 * 1, cb's non-zero result, or a store code. Any transaction; the caller's
 * thread.
 */
typedef int (*outcomes_subject_cb)(const char *subject, size_t len, void *arg);
int outcomes_own_subjects(struct store_txn *t, size_t max, outcomes_subject_cb cb, void *arg);

/* The number of stored figures, of every subject, into *n. Any
 * transaction. Returns 0 or a store code. */
int outcomes_count(struct store_txn *t, uint64_t *n);

/*
 * The value field (5) of a stored Outcome's len bytes (borrowed), into
 * *value: what coachq__v1__outcome__unpack() would give (0 when absent,
 * the last when repeated), read from the wire bytes; bytes it does not
 * expect (another field, another wire type, an overlong varint) are
 * unpacked in full instead, so the two never differ. Returns 0, or -EIO
 * when the bytes are not an Outcome (truncated, malformed). No state;
 * any thread.
 */
int outcomes_value_of(const uint8_t *val, size_t len, double *value);

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
