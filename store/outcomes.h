/*
 * outcomes: business results imported from the CRM (domain.md, "Inputs,
 * quality, results"): one figure per (subject, team, period, metric).
 *
 * A subject is a person: a rep, or a manager (team set: the figure covers
 * the manager's team). A period is a month "YYYY-MM" or a quarter
 * "YYYY-Qn". A metric is one of the known ones (win_rate,
 * pipeline_coverage, quota_attainment, crm_completeness, and the input
 * sessions_held: coaching sessions a manager logged) or a deployment's own
 * name of [a-z0-9_], 1..40 bytes. Putting the same key again replaces the
 * value, so an import is idempotent.
 *
 * Database outcomes: len(1) subject | team(1) | be32 period key | len(1)
 * metric -> Outcome.
 */
#ifndef COACHQ_OUTCOMES_H
#define COACHQ_OUTCOMES_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "validate.h"

struct store_txn;

#define OUTCOMES_MAX_ROWS 100000u

/* Parses a period. On success returns 0 and sets *first_day / *last_day
 * (days since 1970-01-01, inclusive); -EINVAL otherwise. Either out pointer
 * may be NULL. */
int outcomes_period_parse(const char *period, int32_t *first_day, int32_t *last_day);

/* Checks one outcome's fields (not whether the subject exists). On a fault
 * returns -EINVAL and fills e with field paths under prefix (e.g.
 * "outcomes[3]"). value must be finite. */
int outcomes_check(const Coachq__V1__Outcome *o, const char *prefix, struct validate_error *e);

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
 * Parses an outcomes CSV (header: subject_id,team,period,metric,value; team
 * is "yes"/"no" or empty) into *rows / *n (caller owns: free with
 * outcomes_rows_free()). Every bad cell is reported as "FILE:LINE:COL:
 * message" through errs (may be NULL; at most max_errs calls, then the
 * count only). Returns 0, -EINVAL (bad rows: *n_errs set, nothing kept),
 * -E2BIG (more than OUTCOMES_MAX_ROWS rows) or -ENOMEM.
 */
typedef void (*outcomes_err_cb)(const char *msg, void *arg);
int outcomes_parse_csv(const char *name, const char *text, size_t len, outcomes_err_cb errs,
                       void *arg, size_t max_errs, Coachq__V1__Outcome ***rows, size_t *n,
                       size_t *n_errs);
void outcomes_rows_free(Coachq__V1__Outcome **rows, size_t n);

/* Where a parsed row came from: the line its record starts on and the
 * column of each field, indexed by enum outcomes_col. */
enum outcomes_col {
    OUTCOMES_COL_SUBJECT,
    OUTCOMES_COL_TEAM,
    OUTCOMES_COL_PERIOD,
    OUTCOMES_COL_METRIC,
    OUTCOMES_COL_VALUE,
    OUTCOMES_NCOL
};
struct outcomes_pos {
    size_t line;
    size_t col[OUTCOMES_NCOL];
};

/* As outcomes_parse_csv(), and on success *pos (caller owns, free()) gets
 * one position per row, so that a fault found later in the store
 * ("outcomes[i].<field>") can be shown as FILE:LINE:COL. pos may be NULL. */
int outcomes_parse_csv_pos(const char *name, const char *text, size_t len, outcomes_err_cb errs,
                           void *arg, size_t max_errs, Coachq__V1__Outcome ***rows, size_t *n,
                           size_t *n_errs, struct outcomes_pos **pos);

/* The column a fault's field path ("outcomes[3].value") points at:
 * OUTCOMES_COL_SUBJECT for subject_id, ... ; *row gets 3. Returns the
 * column, or -1 if field is not such a path (the row as a whole: *row is
 * still set when it names one). */
int outcomes_fault_col(const char *field, size_t *row);

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
