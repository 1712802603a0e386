/*
 * sessions_held: the store stage of a sessions-held import, shared by
 * `coachqd import sessions` (admin_cadence.c) and the protocol's
 * ImportSessions (`coachq sessions import`, server_req.c). The rows of a
 * file that sessions_csv_read() parsed are checked against the store
 * (unknown people, a coachee outside the coach's line on that day, a date
 * in the future, a row already imported), each problem as FILE:LINE:COL
 * into the caller's table_errs, and stored all or nothing (cadence.h).
 *
 * It runs inside the caller's write transaction (any thread); everything
 * passed in is borrowed for the call. It does not audit: callers do, with
 * their own actor and origin.
 */
#ifndef COACHQ_SESSIONS_HELD_H
#define COACHQ_SESSIONS_HELD_H

#include <stddef.h>
#include <stdint.h>

#include "sessions_csv.h"
#include "table.h"

struct store_txn;

/*
 * Checks every row of sc that passed its own checks against the store (as
 * of now_s, seconds since the epoch: a date after today in the coach's
 * zone is in the future) and, when no row of the file is refused (e->total
 * is 0 after the checks) and dry_run is 0, stores them all. *added is the
 * rows stored (or, on a dry run, that would be). Returns 0, -EINVAL when
 * rows are refused (see e; nothing is written), or another negative code
 * from the store with *fail_line the row's line.
 */
int sessions_held_import(struct store_txn *t, const struct sessions_csv *sc, int64_t now_s,
                         int dry_run, struct table_errs *e, size_t *added, size_t *fail_line);

#endif
