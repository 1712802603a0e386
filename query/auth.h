/*
 * auth: the one place that decides what an authenticated user may do.
 *
 * Identity is the subject CN of a verified client certificate, never a
 * message field. auth_identify() turns it into a user: the person must
 * exist, hold at least one role (reps have no login), not be disabled, and
 * present a pinned certificate when the person has pins. It runs at every
 * handshake, resumed ones included, so disabling a user refuses them at
 * their next connection.
 *
 * auth_decide() is the rule table (docs/organisation.md, "People and roles",
 * says it for users):
 *
 *   request          observer   front-line   second-level   lead   admin
 *   hello            yes        yes          yes            yes    yes
 *   submit           yes        -            -              -      -
 *   score a session  an observer scores a session (decided again by the
 *                    writer, with the line on the session date):
 *       observer only, or with front-line, lead or admin: any coach's
 *       observer with second-level: only coaches in their line on the
 *                    session date (a front-line manager's session, or a
 *                    second-level manager's below them coaching a manager)
 *       without the observer role: -
 *       nobody scores a session in which they are the coach or the
 *                    coachee (the store refuses it too, whatever the policy)
 *   read a record    own        about self   their line     all    all
 *       and a coaching-the-coach session: its coach (second-level) and
 *       its coachee (front-line) read it, and the actions it agreed
 *   list             yes, every record on a page filtered as "read a record"
 *   rubrics          yes        yes          yes            yes    yes
 *   cert status      own        own          own            all    all
 *   add reference    -          -            -              yes    yes
 *   server stats     -          -            -              yes    yes
 *   people           yes        -            -              yes    yes
 *   import outcomes  -          -            -              yes    yes
 *   import sessions  -          -            -              yes    yes
 *   export all       -          -            -              yes    yes
 *   feed             yes, every record filtered as "read a record"
 *   dashboard:
 *     my managers    -          -            own, or below  all    all
 *     manager detail -          self         their line     all    all
 *     my coaching    -          self         their line     all    all
 *     coaching my    -          -            own, or below  all    all
 *       managers (a second-level manager's sessions coaching their managers)
 *     programme      -          -            -              yes    yes
 *     observers      -          -            -              yes    yes
 *     observers/OBS  -          -            -              yes    yes
 *       (one observer's calibration history; an observer reads their own
 *       with `coachq calibrate --history`, under "calibrate")
 *     my reliability own        -            -              all    all
 *       (an observer's own page; another's is answered as if it did not
 *       exist)
 *   assignments      own        -            -              all    all
 *       (an observer's queue; another observer's, or "*" every one's)
 *   draw assignments -          -            -              yes    yes
 *   coverage plans   -          -            -              yes    yes
 *   calibrate        own        -            -              -      -
 *       (references to attempt, an attempt revealed, one's own history;
 *       leads and administrators read results under "cert status")
 *   retire reference -          -            -              yes    yes
 *   read an action   scored,    own coaching their line     all    all
 *                    or open (an observer who also holds a manager's
 *                    role: scored, or as that role allows)
 *
 * "Read an action" decides each record of `coachq actions` (ListActions):
 * an observer sees the actions agreed in the sessions they scored and any
 * action still open (whoever observes the pair's next session follows it
 * up; the dashboards' action tables give an observer nothing), a
 * front-line manager the actions of their own coaching, a second-level
 * manager those of the coaches in their line today, leads and
 * administrators all. The request itself is open to every user; a list
 * holds only the records its caller may read.
 *
 * "People" is the list of front-line managers and the reps who report to
 * them today: whom an observer may observe. Managers do not need it and it
 * names people outside their line, so they are refused it.
 *
 * A dashboard's subject is a person (the second-level manager of "my
 * managers", the front-line manager of the others); "their line" for a
 * dashboard is today's chain above that subject (target->chain). A refused
 * dashboard about a person is answered as if the person did not exist.
 *
 * "Their line": the record's coach reported to the user, directly or
 * further down, on the session date. Calibration attempts are readable only
 * by their observer, leads and administrators. A refused read is answered
 * as if the record did not exist.
 */
#ifndef COACHQ_AUTH_H
#define COACHQ_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "people.h"

struct store;
struct store_scorer;
struct store_txn;

enum auth_role {
    AUTH_OBSERVER = 1u << COACHQ__V1__ROLE__ROLE_OBSERVER,
    AUTH_FRONT_LINE = 1u << COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
    AUTH_SECOND_LEVEL = 1u << COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER,
    AUTH_LEAD = 1u << COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD,
    AUTH_ADMIN = 1u << COACHQ__V1__ROLE__ROLE_ADMINISTRATOR,
};

struct auth_user {
    char id[65];
    unsigned roles; /* enum auth_role bits */
};

enum auth_action {
    AUTH_HELLO,
    AUTH_SUBMIT,
    AUTH_READ_RECORD,
    AUTH_LIST,
    AUTH_RUBRICS,
    AUTH_CERT_STATUS,
    AUTH_ADD_REFERENCE,
    AUTH_STATS,
    AUTH_PEOPLE,
    AUTH_IMPORT_OUTCOMES,
    AUTH_IMPORT_SESSIONS, /* `coachq sessions import`: sessions held */
    AUTH_EXPORT,          /* `coachq export observations`: every record, in sequence order */
    AUTH_DASHBOARD,
    AUTH_READ_ACTION,
    AUTH_CALIBRATE,        /* `coachq calibrate`: references to attempt, one's own attempt
                              revealed (observers) */
    AUTH_RETIRE_REFERENCE, /* `coachq reference retire` (leads and administrators) */
    AUTH_ASSIGNMENTS,      /* an observer's queue (target->observer: "" own, "*" all) */
    AUTH_DRAW_ASSIGNMENTS, /* a draw of assignments under a coverage plan */
    AUTH_PLANS,            /* set or list coverage plans */
    AUTH_SCORE,            /* the last action: test_auth walks them all */
};

/* What a request is about. Every pointer is borrowed for the call; unused
 * members are NULL/0. */
struct auth_target {
    const Coachq__V1__StoredObservation *rec; /* AUTH_READ_RECORD */
    const char (*chain)[65];                  /* managers above rec's coach on its session day */
    size_t n_chain;
    const char *observer; /* AUTH_CERT_STATUS: whose status ("" = own) */
    int dashboard;        /* AUTH_DASHBOARD: a Coachq__V1__DashboardKind */
    const char *subject;  /* AUTH_DASHBOARD: the person it is about (chain: today's
                             managers above them) */
    int was_line;         /* AUTH_DASHBOARD, MANAGER: the subject was in the caller's
                             line on the date of a session the page covers (the caller
                             works it out: dash.c) */
    const Coachq__V1__ActionRecord *action; /* AUTH_READ_ACTION (chain: today's managers
                                               above its coach) */
    const char *action_observer; /* AUTH_READ_ACTION: who scored the session that agreed it */
    const char *coach;           /* AUTH_SCORE: the session's coach (chain: the managers
                                    above them on the session date) */
    const char *coachee;         /* AUTH_SCORE: the session's coachee */
    int coaches_coach;           /* AUTH_SCORE, AUTH_READ_RECORD, AUTH_READ_ACTION: the
                                    rubric (of the record, of the session that agreed the
                                    action) scores a second-level manager coaching one of
                                    their front-line managers */
};

/*
 * Decides whether u may do action on target (may be NULL where unused).
 * Returns 0 (allowed) or -EACCES. Pure and thread-safe.
 */
int auth_decide(const struct auth_user *u, enum auth_action action,
                const struct auth_target *target);

/*
 * Looks up the person behind a verified certificate with subject CN cn and
 * certificate SHA-256 sha256 (may be NULL: no pin check), in a read
 * transaction of s. Returns 0 with *out filled, -EACCES with a reason for
 * the user in why (whylen bytes), or another negative code if the store
 * cannot be read. Any thread.
 */
int auth_identify(struct store *s, const char *cn, const uint8_t *sha256, struct auth_user *out,
                  char *why, size_t whylen);

/*
 * AUTH_SCORE for the writer's rules (store_policy.may_score, store.h): the
 * observer's roles from s->observer, the coach and their chain on the
 * session date. Returns 0 or -EACCES. Pure; any thread (the writer's).
 */
int auth_may_score(const struct store_scorer *s);

/* The roles of p as enum auth_role bits. */
unsigned auth_roles_of(const Coachq__V1__Person *p);

/*
 * Fills chain / *n with the management chain above rec's coach on the
 * record's session date, for AUTH_READ_RECORD (t: a transaction of the
 * caller's). Returns 0 or a negative code.
 */
int auth_record_chain(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                      char chain[][65], size_t *n);

/*
 * Whether u may read rec (borrowed), with the management chain of rec's
 * coach on its session date read in t (a transaction of the caller's):
 * AUTH_READ_RECORD as every read of a record decides it (the protocol
 * port's gets and lists, the change feed, the export). Returns 1 or 0.
 * Any thread.
 */
int auth_may_read_txn(struct store_txn *t, const struct auth_user *u,
                      const Coachq__V1__StoredObservation *rec);

/*
 * Whether rubric rubric_id at version (0: the latest) scores second-level
 * managers coaching their managers (coach_role), in a transaction of the
 * caller's: auth_target.coaches_coach. Returns 1 or 0 (also when there is
 * no such rubric). Any thread.
 */
int auth_rubric_coaches_coach(struct store_txn *t, const char *rubric_id, uint32_t version);

/*
 * Identifies the bearer of API token tok (borrowed; store/apitok.h) at
 * now_ms, in a transaction of the caller's, as auth_identify() does for a
 * certificate: the token must exist, be neither revoked nor expired, and
 * its user must exist, hold a role and not be disabled. On success *out
 * is the user (their roles as for a browser session: the same rules then
 * apply through auth_decide()) and *touch (may be NULL) is 1 when the
 * token's last use is due to be written (apitok_touch_txn()). Returns 0,
 * -EACCES with a reason for the log in why (whylen bytes; never the
 * token), or a store code.
 */
int auth_identify_token_txn(struct store_txn *t, const char *tok, int64_t now_ms,
                            struct auth_user *out, int *touch, char *why, size_t whylen);

#endif
