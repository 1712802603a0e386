/*
 * people: the organisation inside the store: people and their roles,
 * reporting lines with effective dates, and training programmes with their
 * cohorts and attendance.
 *
 * A reporting line is a list of changes per person: "from day D on, X's
 * manager is M" (M empty: nobody). The line that holds on a date is the
 * latest change effective on or before it, so a transfer adds a change and
 * never rewrites history: an observation belongs to the line that held on
 * its session date.
 *
 * Every function works inside a transaction of the caller's (store_exec()
 * or store_view()); writers need a write transaction and return -EROFS in a
 * read one. Days are days since 1970-01-01 UTC. Ids are 1..64 bytes
 * (validate_id()); a malformed id is -EINVAL. Results handed out are
 * decoded copies the caller owns.
 */
#ifndef COACHQ_PEOPLE_H
#define COACHQ_PEOPLE_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"

/* Deepest management chain people_chain_at() follows (and the cycle guard). */
#define PEOPLE_MAX_CHAIN 16

/* Reads person id. Returns 0 and sets *out (caller owns, free with
 * coachq__v1__person__free_unpacked(*out, NULL)), or -ENOENT. */
int people_get(struct store_txn *t, const char *id, Coachq__V1__Person **out);

/* Creates or replaces person p (p->id names it). *changed (may be NULL) is
 * 0 if the stored record was already byte-identical. Returns 0, -EINVAL,
 * -EROFS or a store code to pass on. */
int people_put(struct store_txn *t, const Coachq__V1__Person *p, int *changed);

/* True if p holds role. */
int people_has_role(const Coachq__V1__Person *p, Coachq__V1__Role role);

/* Calls cb for every person in id order (p borrowed for the call). cb
 * returns 0 to go on, 1 to stop, or a negative code. */
typedef int (*people_cb)(const Coachq__V1__Person *p, void *arg);
int people_list(struct store_txn *t, people_cb cb, void *arg);

/* Records that from day on, person's manager is manager ("" or NULL: none).
 * A change on the same day replaces that day's. *changed as people_put().
 * Keeps the manager -> reports index in step, and when the line changed,
 * counts the person's observed coaching days again (cadence.h,
 * cadence_rebuild_rep(): its cost is the person's sessions, and its errors
 * are returned as this function's). */
int people_line_put(struct store_txn *t, const char *person, const char *manager, int32_t day,
                    int *changed);

/* The manager of person on day, written into out (outlen >= 65). Returns 0,
 * or -ENOENT when no change is effective on day or the line holding then
 * names nobody. */
int people_manager_at(struct store_txn *t, const char *person, int32_t day, char *out,
                      size_t outlen);

/* people_manager_at() that also says the days its answer holds for:
 * *from and *last (both may be NULL; INT32_MIN and INT32_MAX when no
 * change bounds them) are the first and last day of the line that holds
 * on day, so that a caller asking about the days around it (the
 * coaching days' counts, cadence.h) reads the lines once. Results as
 * people_manager_at()'s; *from and *last are set with 0 and -ENOENT. */
int people_manager_span(struct store_txn *t, const char *person, int32_t day, char *out,
                        size_t outlen, int32_t *from, int32_t *last);

/* The management chain above person on day: ids[0] is the manager, ids[1]
 * the manager's manager, and so on, at most PEOPLE_MAX_CHAIN, stopping at a
 * cycle. *n is the count (0 when person reports to nobody). Each id is
 * written into ids[i] (65 bytes). Returns 0 or a negative code. */
int people_chain_at(struct store_txn *t, const char *person, int32_t day, char ids[][65],
                    size_t *n);

/* Whether ancestor (borrowed) is in person's management chain on day, as
 * people_chain_at()'s ids would say: *yes is 1 or 0. Walks the chain only
 * up to ancestor, not to its top. Returns 0 or a negative code (then *yes
 * is 0). Any thread, within t. */
int people_chain_has_at(struct store_txn *t, const char *person, int32_t day, const char *ancestor,
                        int *yes);

/* Calls cb for every change of person's line, oldest first (line borrowed
 * for the call). */
typedef int (*people_line_cb)(const Coachq__V1__ReportingLine *line, void *arg);
int people_lines(struct store_txn *t, const char *person, people_line_cb cb, void *arg);

/* Calls cb with the id of every person whose manager on day is manager, in
 * id order, each once. */
typedef int (*people_id_cb)(const char *id, void *arg);
int people_reports_at(struct store_txn *t, const char *manager, int32_t day, people_id_cb cb,
                      void *arg);

/*
 * The reports of manager on several days in one read: calls cb once for
 * every person whose manager on at least one of days[0..ndays) is manager,
 * in id order, with on[j] 1 when they reported to manager on days[j] and 0
 * when not (on borrowed for the call, ndays bytes). Each day gives the
 * people people_reports_at() gives for it; the cost is one range of the
 * reports index and one of each person's lines, where a call per day
 * reads both per day. days need not be sorted (ndays >= 1). cb returns 0
 * to go on, 1 to stop, or a negative code. Returns 0, -EINVAL (ndays 0),
 * -ENOMEM, -E2BIG, -EIO or a store code. Any thread, inside the caller's
 * transaction.
 */
typedef int (*people_days_cb)(const char *id, const uint8_t *on, void *arg);
int people_reports_on(struct store_txn *t, const char *manager, const int32_t *days, size_t ndays,
                      people_days_cb cb, void *arg);

/* Programmes and enrolments: create or replace, read, list. *changed as
 * people_put(). An enrolment is keyed by (programme_id, person_id). */
int people_programme_put(struct store_txn *t, const Coachq__V1__Programme *p, int *changed);
int people_programme_get(struct store_txn *t, const char *id, Coachq__V1__Programme **out);
int people_enrolment_put(struct store_txn *t, const Coachq__V1__Enrolment *e, int *changed);
int people_enrolment_get(struct store_txn *t, const char *programme, const char *person,
                         Coachq__V1__Enrolment **out);
/* Every enrolment of programme (NULL: of every programme), in key order. */
typedef int (*people_enrolment_cb)(const Coachq__V1__Enrolment *e, void *arg);
int people_enrolments(struct store_txn *t, const char *programme, people_enrolment_cb cb,
                      void *arg);
/* Every enrolment (of every programme), in key order, whose person is one of
 * the n ids (borrowed, sorted as strcmp() orders them): the person is read
 * from the key, so only those enrolments are decoded. A page about a few
 * people reads the others' keys but never unpacks their records. cb as
 * people_enrolments()'s, and the result as people_enrolments()'s; t is
 * borrowed, used on the caller's thread. */
int people_enrolments_of(struct store_txn *t, const char *const *ids, size_t n,
                         people_enrolment_cb cb, void *arg);

#endif
