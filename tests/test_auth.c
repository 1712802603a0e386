/*
 * test_auth: the access rules, as a table of every role against every
 * request, including reads of records outside one's line. The integration
 * test test_domain drives the same decisions through a real coachqd.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "store.h"

/* The record of the table: obs.ann observed flm.cara coaching rep.ida;
 * flm.cara reports to slm.eve, who reports to vp.zed. */
enum target {
    T_NONE,
    T_RECORD,      /* the record above, with its line */
    T_CALIBRATION, /* the same, but a calibration attempt */
    T_OWN_STATUS,  /* cert status of the caller */
    T_ANN_STATUS,  /* cert status of obs.ann */
    /* Dashboards. slm.fay (under vp.yan) manages flm.dan. */
    T_MM_EVE,      /* my managers of slm.eve (chain vp.zed) */
    T_MM_FAY,      /* my managers of slm.fay (chain vp.yan) */
    T_MGR_CARA,    /* manager detail of flm.cara (chain slm.eve, vp.zed) */
    T_MGR_DAN,     /* manager detail of flm.dan (chain slm.fay, vp.yan) */
    T_MC_CARA,     /* my coaching of flm.cara */
    T_MC_DAN,      /* my coaching of flm.dan */
    T_PROGRAMME,   /* programme impact */
    T_OBSERVERS,   /* observer reliability */
    T_ACTION,      /* an action flm.cara agreed with rep.ida, scored by obs.ann */
    T_ACTION_DONE, /* the same action once done */
    /* Coaching the coach: slm.eve manages flm.cara; slm.fay manages flm.dan. */
    T_CM_EVE, /* coaching my managers of slm.eve (chain vp.zed) */
    T_CM_FAY, /* coaching my managers of slm.fay (chain vp.yan) */
    /* Scoring a session (AUTH_SCORE), by its coach and their chain on the
     * session date. */
    T_SCORE_CARA, /* flm.cara coaching a rep (chain slm.eve, vp.zed) */
    T_SCORE_DAN,  /* flm.dan coaching a rep (chain slm.fay, vp.yan) */
    T_SCORE_EVE,  /* slm.eve coaching flm.cara, coaching the coach (chain vp.zed) */
    T_SCORE_FAY,  /* slm.fay coaching flm.dan, coaching the coach (chain vp.yan) */
    /* A coaching-the-coach session: obs.ann observed slm.eve coaching
     * flm.cara (chain vp.zed); and an open action it agreed. */
    T_CTC_RECORD,
    T_CTC_ACTION,
    /* My reliability, an observer's own page: obs.ann's and obs.ben's. */
    T_OR_ANN,
    T_OR_BEN,
    /* Observer reliability about one observer, obs.ann: their calibration
     * history (/d/observers/obs.ann, `coachq dashboard observers obs.ann`). */
    T_OBSERVERS_ANN,
};

struct row {
    const char *user;
    unsigned roles;
    enum auth_action action;
    enum target target;
    int allowed;
};

#define OBS AUTH_OBSERVER
#define FLM AUTH_FRONT_LINE
#define SLM AUTH_SECOND_LEVEL
#define LEAD AUTH_LEAD
#define ADMIN AUTH_ADMIN

static const struct row rows[] = {
    /* Hello: every user with a role. */
    {"obs.ann", OBS, AUTH_HELLO, T_NONE, 1},
    {"flm.cara", FLM, AUTH_HELLO, T_NONE, 1},
    {"slm.eve", SLM, AUTH_HELLO, T_NONE, 1},
    {"lead.gil", LEAD, AUTH_HELLO, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_HELLO, T_NONE, 1},
    {"rep.ida", 0, AUTH_HELLO, T_NONE, 0},
    /* Submit: observers only. */
    {"obs.ann", OBS, AUTH_SUBMIT, T_NONE, 1},
    {"flm.cara", FLM, AUTH_SUBMIT, T_NONE, 0},
    {"slm.eve", SLM, AUTH_SUBMIT, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_SUBMIT, T_NONE, 0},
    {"admin.hal", ADMIN, AUTH_SUBMIT, T_NONE, 0},
    {"rep.ida", 0, AUTH_SUBMIT, T_NONE, 0},
    /* Read a record. */
    {"obs.ann", OBS, AUTH_READ_RECORD, T_RECORD, 1},
    {"obs.ben", OBS, AUTH_READ_RECORD, T_RECORD, 0},
    {"flm.cara", FLM, AUTH_READ_RECORD, T_RECORD, 1},
    {"flm.dan", FLM, AUTH_READ_RECORD, T_RECORD, 0},
    {"slm.eve", SLM, AUTH_READ_RECORD, T_RECORD, 1},
    {"vp.zed", SLM, AUTH_READ_RECORD, T_RECORD, 1},
    {"slm.fay", SLM, AUTH_READ_RECORD, T_RECORD, 0},
    {"lead.gil", LEAD, AUTH_READ_RECORD, T_RECORD, 1},
    {"admin.hal", ADMIN, AUTH_READ_RECORD, T_RECORD, 1},
    {"rep.ida", 0, AUTH_READ_RECORD, T_RECORD, 0},
    /* The coachee is a rep without a login, even if named on the record. */
    {"rep.ida", OBS, AUTH_READ_RECORD, T_RECORD, 0},
    /* A role the user does not hold gives no access: slm.eve as an
     * observer only, flm.cara as a second-level manager only. */
    {"slm.eve", OBS, AUTH_READ_RECORD, T_RECORD, 0},
    {"flm.cara", SLM, AUTH_READ_RECORD, T_RECORD, 0},
    /* Calibration attempts: their observer, leads and administrators. */
    {"obs.ann", OBS, AUTH_READ_RECORD, T_CALIBRATION, 1},
    {"flm.cara", FLM, AUTH_READ_RECORD, T_CALIBRATION, 0},
    {"slm.eve", SLM, AUTH_READ_RECORD, T_CALIBRATION, 0},
    {"lead.gil", LEAD, AUTH_READ_RECORD, T_CALIBRATION, 1},
    {"admin.hal", ADMIN, AUTH_READ_RECORD, T_CALIBRATION, 1},
    /* No record: nothing to read. */
    {"lead.gil", LEAD, AUTH_READ_RECORD, T_NONE, 0},
    /* List: allowed, filtered per record. */
    {"obs.ann", OBS, AUTH_LIST, T_NONE, 1},
    {"flm.cara", FLM, AUTH_LIST, T_NONE, 1},
    {"slm.eve", SLM, AUTH_LIST, T_NONE, 1},
    {"lead.gil", LEAD, AUTH_LIST, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_LIST, T_NONE, 1},
    {"rep.ida", 0, AUTH_LIST, T_NONE, 0},
    /* Rubrics: every user. */
    {"obs.ann", OBS, AUTH_RUBRICS, T_NONE, 1},
    {"flm.cara", FLM, AUTH_RUBRICS, T_NONE, 1},
    {"slm.eve", SLM, AUTH_RUBRICS, T_NONE, 1},
    {"lead.gil", LEAD, AUTH_RUBRICS, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_RUBRICS, T_NONE, 1},
    {"rep.ida", 0, AUTH_RUBRICS, T_NONE, 0},
    /* Certification status: one's own, or anyone's for leads and admins. */
    {"obs.ann", OBS, AUTH_CERT_STATUS, T_OWN_STATUS, 1},
    {"obs.ann", OBS, AUTH_CERT_STATUS, T_ANN_STATUS, 1},
    {"obs.ben", OBS, AUTH_CERT_STATUS, T_ANN_STATUS, 0},
    {"flm.cara", FLM, AUTH_CERT_STATUS, T_OWN_STATUS, 1},
    {"flm.cara", FLM, AUTH_CERT_STATUS, T_ANN_STATUS, 0},
    {"slm.eve", SLM, AUTH_CERT_STATUS, T_ANN_STATUS, 0},
    {"lead.gil", LEAD, AUTH_CERT_STATUS, T_ANN_STATUS, 1},
    {"admin.hal", ADMIN, AUTH_CERT_STATUS, T_ANN_STATUS, 1},
    /* Assignments: an observer's own queue; leads and administrators any
     * observer's ("*": every one); managers have no queue. */
    {"obs.ann", OBS, AUTH_ASSIGNMENTS, T_NONE, 1},
    {"obs.ann", OBS, AUTH_ASSIGNMENTS, T_OWN_STATUS, 1},
    {"obs.ann", OBS, AUTH_ASSIGNMENTS, T_ANN_STATUS, 1},
    {"obs.ben", OBS, AUTH_ASSIGNMENTS, T_ANN_STATUS, 0},
    {"flm.cara", FLM, AUTH_ASSIGNMENTS, T_OWN_STATUS, 0},
    {"slm.eve", SLM, AUTH_ASSIGNMENTS, T_OWN_STATUS, 0},
    {"lead.gil", LEAD, AUTH_ASSIGNMENTS, T_ANN_STATUS, 1},
    {"admin.hal", ADMIN, AUTH_ASSIGNMENTS, T_ANN_STATUS, 1},
    {"rep.ida", 0, AUTH_ASSIGNMENTS, T_OWN_STATUS, 0},
    {"flm.cara", FLM | OBS, AUTH_ASSIGNMENTS, T_OWN_STATUS, 1},
    {"flm.cara", FLM | OBS, AUTH_ASSIGNMENTS, T_ANN_STATUS, 0},
    /* Drawing assignments: leads and administrators. */
    {"obs.ann", OBS, AUTH_DRAW_ASSIGNMENTS, T_NONE, 0},
    {"flm.cara", FLM, AUTH_DRAW_ASSIGNMENTS, T_NONE, 0},
    {"slm.eve", SLM, AUTH_DRAW_ASSIGNMENTS, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_DRAW_ASSIGNMENTS, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_DRAW_ASSIGNMENTS, T_NONE, 1},
    {"rep.ida", 0, AUTH_DRAW_ASSIGNMENTS, T_NONE, 0},
    {"slm.eve", SLM | OBS, AUTH_DRAW_ASSIGNMENTS, T_NONE, 0},
    /* Coverage plans: leads and administrators. */
    {"obs.ann", OBS, AUTH_PLANS, T_NONE, 0},
    {"flm.cara", FLM, AUTH_PLANS, T_NONE, 0},
    {"slm.eve", SLM, AUTH_PLANS, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_PLANS, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_PLANS, T_NONE, 1},
    {"rep.ida", 0, AUTH_PLANS, T_NONE, 0},
    {"rep.ida", 0, AUTH_CERT_STATUS, T_OWN_STATUS, 0},
    /* Calibration references: leads and administrators. */
    {"obs.ann", OBS, AUTH_ADD_REFERENCE, T_NONE, 0},
    {"flm.cara", FLM, AUTH_ADD_REFERENCE, T_NONE, 0},
    {"slm.eve", SLM, AUTH_ADD_REFERENCE, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_ADD_REFERENCE, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_ADD_REFERENCE, T_NONE, 1},
    {"rep.ida", 0, AUTH_ADD_REFERENCE, T_NONE, 0},
    /* Calibration in the UI: observers list and reveal their own
     * attempts; leads and administrators retire references. */
    {"obs.ann", OBS, AUTH_CALIBRATE, T_NONE, 1},
    {"flm.cara", FLM, AUTH_CALIBRATE, T_NONE, 0},
    {"slm.eve", SLM, AUTH_CALIBRATE, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_CALIBRATE, T_NONE, 0},
    {"admin.hal", ADMIN, AUTH_CALIBRATE, T_NONE, 0},
    {"rep.ida", 0, AUTH_CALIBRATE, T_NONE, 0},
    {"obs.ann", OBS, AUTH_RETIRE_REFERENCE, T_NONE, 0},
    {"flm.cara", FLM, AUTH_RETIRE_REFERENCE, T_NONE, 0},
    {"slm.eve", SLM, AUTH_RETIRE_REFERENCE, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_RETIRE_REFERENCE, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_RETIRE_REFERENCE, T_NONE, 1},
    {"rep.ida", 0, AUTH_RETIRE_REFERENCE, T_NONE, 0},
    /* Server counters: leads and administrators. */
    {"obs.ann", OBS, AUTH_STATS, T_NONE, 0},
    {"flm.cara", FLM, AUTH_STATS, T_NONE, 0},
    {"slm.eve", SLM, AUTH_STATS, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_STATS, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_STATS, T_NONE, 1},
    {"rep.ida", 0, AUTH_STATS, T_NONE, 0},
    /* The people to observe: observers, leads and administrators; not
     * managers, whose line is not the whole organisation. */
    {"obs.ann", OBS, AUTH_PEOPLE, T_NONE, 1},
    {"flm.cara", FLM, AUTH_PEOPLE, T_NONE, 0},
    {"slm.eve", SLM, AUTH_PEOPLE, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_PEOPLE, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_PEOPLE, T_NONE, 1},
    {"rep.ida", 0, AUTH_PEOPLE, T_NONE, 0},
    /* A manager who also observes may list them as an observer. */
    {"flm.cara", FLM | OBS, AUTH_PEOPLE, T_NONE, 1},
    /* Importing business results: leads and administrators. */
    {"obs.ann", OBS, AUTH_IMPORT_OUTCOMES, T_NONE, 0},
    {"flm.cara", FLM, AUTH_IMPORT_OUTCOMES, T_NONE, 0},
    {"slm.eve", SLM, AUTH_IMPORT_OUTCOMES, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_IMPORT_OUTCOMES, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_IMPORT_OUTCOMES, T_NONE, 1},
    {"rep.ida", 0, AUTH_IMPORT_OUTCOMES, T_NONE, 0},
    {"obs.ann", OBS, AUTH_IMPORT_SESSIONS, T_NONE, 0},
    {"flm.cara", FLM, AUTH_IMPORT_SESSIONS, T_NONE, 0},
    {"slm.eve", SLM, AUTH_IMPORT_SESSIONS, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_IMPORT_SESSIONS, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_IMPORT_SESSIONS, T_NONE, 1},
    {"rep.ida", 0, AUTH_IMPORT_SESSIONS, T_NONE, 0},
    /* The full export of every record: leads and administrators. */
    {"obs.ann", OBS, AUTH_EXPORT, T_NONE, 0},
    {"flm.cara", FLM, AUTH_EXPORT, T_NONE, 0},
    {"slm.eve", SLM, AUTH_EXPORT, T_NONE, 0},
    {"lead.gil", LEAD, AUTH_EXPORT, T_NONE, 1},
    {"admin.hal", ADMIN, AUTH_EXPORT, T_NONE, 1},
    {"rep.ida", 0, AUTH_EXPORT, T_NONE, 0},
    /* My managers: a second-level manager's own, or one further down. */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_MM_EVE, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_MM_EVE, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_MM_EVE, 1},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_MM_EVE, 1},
    {"slm.fay", SLM, AUTH_DASHBOARD, T_MM_EVE, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_MM_FAY, 0},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_MM_FAY, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_MM_EVE, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_MM_FAY, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_MM_EVE, 0},
    /* slm.eve without the second-level role has no "my managers". */
    {"slm.eve", FLM | OBS, AUTH_DASHBOARD, T_MM_EVE, 0},
    /* Manager detail: the manager themself, their line, leads, admins. */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_MGR_CARA, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_MGR_CARA, 1},
    {"flm.dan", FLM, AUTH_DASHBOARD, T_MGR_CARA, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_MGR_DAN, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_MGR_CARA, 1},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_MGR_CARA, 1},
    {"slm.fay", SLM, AUTH_DASHBOARD, T_MGR_CARA, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_MGR_DAN, 0},
    {"slm.fay", SLM, AUTH_DASHBOARD, T_MGR_DAN, 1},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_MGR_DAN, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_MGR_CARA, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_MGR_CARA, 0},
    /* Self without the front-line role is not "self". */
    {"flm.cara", SLM, AUTH_DASHBOARD, T_MGR_CARA, 0},
    {"flm.cara", OBS, AUTH_DASHBOARD, T_MGR_CARA, 0},
    /* My coaching: the same rule. */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_MC_CARA, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_MC_CARA, 1},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_MC_DAN, 0},
    {"flm.dan", FLM, AUTH_DASHBOARD, T_MC_DAN, 1},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_MC_CARA, 1},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_MC_DAN, 0},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_MC_DAN, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_MC_DAN, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_MC_CARA, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_MC_CARA, 0},
    /* Programme impact and observer reliability: leads and admins. */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_PROGRAMME, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_PROGRAMME, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_PROGRAMME, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_PROGRAMME, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_PROGRAMME, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_PROGRAMME, 0},
    {"obs.ann", OBS, AUTH_DASHBOARD, T_OBSERVERS, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_OBSERVERS, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_OBSERVERS, 0},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_OBSERVERS, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_OBSERVERS, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_OBSERVERS, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_OBSERVERS, 0},
    /* Read an action: the observer who scored the session that agreed it,
     * any observer while it is open (the pair's next session follows it
     * up), its coach, the coach's line today, leads and administrators. */
    {"obs.ann", OBS, AUTH_READ_ACTION, T_ACTION, 1},
    {"obs.ben", OBS, AUTH_READ_ACTION, T_ACTION, 1},
    {"obs.ann", OBS, AUTH_READ_ACTION, T_ACTION_DONE, 1},
    {"obs.ben", OBS, AUTH_READ_ACTION, T_ACTION_DONE, 0},
    {"flm.cara", FLM, AUTH_READ_ACTION, T_ACTION_DONE, 1},
    {"flm.dan", FLM, AUTH_READ_ACTION, T_ACTION_DONE, 0},
    {"slm.fay", SLM, AUTH_READ_ACTION, T_ACTION_DONE, 0},
    {"rep.ida", 0, AUTH_READ_ACTION, T_ACTION_DONE, 0},
    {"flm.cara", FLM, AUTH_READ_ACTION, T_ACTION, 1},
    {"flm.dan", FLM, AUTH_READ_ACTION, T_ACTION, 0},
    {"slm.eve", SLM, AUTH_READ_ACTION, T_ACTION, 1},
    {"vp.zed", SLM, AUTH_READ_ACTION, T_ACTION, 1},
    {"slm.fay", SLM, AUTH_READ_ACTION, T_ACTION, 0},
    {"lead.gil", LEAD, AUTH_READ_ACTION, T_ACTION, 1},
    {"admin.hal", ADMIN, AUTH_READ_ACTION, T_ACTION, 1},
    {"rep.ida", 0, AUTH_READ_ACTION, T_ACTION, 0},
    /* A role the user does not hold gives no access; no action, nothing. */
    {"flm.cara", OBS, AUTH_READ_ACTION, T_ACTION_DONE, 0},
    {"slm.eve", FLM, AUTH_READ_ACTION, T_ACTION, 0},
    {"lead.gil", LEAD, AUTH_READ_ACTION, T_NONE, 0},
    /* A manager who observes reads another line's open action only if
     * they scored its session. */
    {"slm.fay", SLM | OBS, AUTH_READ_ACTION, T_ACTION, 0},
    {"flm.dan", FLM | OBS, AUTH_READ_ACTION, T_ACTION, 0},
    {"slm.eve", SLM | OBS, AUTH_READ_ACTION, T_ACTION, 1},
    {"flm.cara", FLM | OBS, AUTH_READ_ACTION, T_ACTION, 1},
    {"obs.ann", SLM | OBS, AUTH_READ_ACTION, T_ACTION, 1},
    {"obs.ann", FLM | OBS, AUTH_READ_ACTION, T_ACTION_DONE, 1},
    {"lead.gil", LEAD | SLM | OBS, AUTH_READ_ACTION, T_ACTION, 1},
    /* Score a session. An observer scores any coach's session, a
     * front-line manager's or a second-level manager's coaching the coach. */
    {"obs.ann", OBS, AUTH_SCORE, T_SCORE_CARA, 1},
    {"obs.ann", OBS, AUTH_SCORE, T_SCORE_DAN, 1},
    {"obs.ann", OBS, AUTH_SCORE, T_SCORE_EVE, 1},
    {"obs.ann", OBS, AUTH_SCORE, T_SCORE_FAY, 1},
    {"obs.ann", OBS, AUTH_SCORE, T_NONE, 0},
    /* Without the observer role nobody scores. */
    {"flm.cara", FLM, AUTH_SCORE, T_SCORE_DAN, 0},
    {"slm.eve", SLM, AUTH_SCORE, T_SCORE_CARA, 0},
    {"lead.gil", LEAD, AUTH_SCORE, T_SCORE_CARA, 0},
    {"admin.hal", ADMIN, AUTH_SCORE, T_SCORE_CARA, 0},
    {"rep.ida", 0, AUTH_SCORE, T_SCORE_CARA, 0},
    /* A second-level manager who observes: their own line only. */
    {"slm.eve", SLM | OBS, AUTH_SCORE, T_SCORE_CARA, 1},
    {"slm.eve", SLM | OBS, AUTH_SCORE, T_SCORE_DAN, 0},
    {"slm.fay", SLM | OBS, AUTH_SCORE, T_SCORE_CARA, 0},
    {"slm.fay", SLM | OBS, AUTH_SCORE, T_SCORE_DAN, 1},
    /* ... not their own coaching, nor a peer's; the manager above them may. */
    {"slm.eve", SLM | OBS, AUTH_SCORE, T_SCORE_EVE, 0},
    {"slm.fay", SLM | OBS, AUTH_SCORE, T_SCORE_EVE, 0},
    {"vp.zed", SLM | OBS, AUTH_SCORE, T_SCORE_EVE, 1},
    {"vp.zed", SLM | OBS, AUTH_SCORE, T_SCORE_FAY, 0},
    {"vp.zed", SLM | OBS, AUTH_SCORE, T_SCORE_CARA, 1},
    /* A front-line manager who observes scores others' sessions, never their own. */
    {"flm.cara", FLM | OBS, AUTH_SCORE, T_SCORE_DAN, 1},
    {"flm.cara", FLM | OBS, AUTH_SCORE, T_SCORE_CARA, 0},
    /* ... nor a review of their own coaching as its coachee. */
    {"flm.cara", FLM | OBS, AUTH_SCORE, T_SCORE_EVE, 0},
    {"flm.dan", FLM | OBS, AUTH_SCORE, T_SCORE_FAY, 0},
    {"flm.dan", FLM | OBS, AUTH_SCORE, T_SCORE_EVE, 1},
    /* Leads and administrators who observe: every line. */
    {"lead.gil", LEAD | OBS, AUTH_SCORE, T_SCORE_FAY, 1},
    {"admin.hal", ADMIN | OBS, AUTH_SCORE, T_SCORE_DAN, 1},
    {"lead.gil", LEAD | SLM | OBS, AUTH_SCORE, T_SCORE_FAY, 1},
    /* A coaching-the-coach session and its actions: its coach and its
     * coachee read them, the line above the coach too; not a peer, not
     * the coachee's reps, not the roles the parties do not hold. */
    {"slm.eve", SLM, AUTH_READ_RECORD, T_CTC_RECORD, 1},
    {"flm.cara", FLM, AUTH_READ_RECORD, T_CTC_RECORD, 1},
    {"vp.zed", SLM, AUTH_READ_RECORD, T_CTC_RECORD, 1},
    {"obs.ann", OBS, AUTH_READ_RECORD, T_CTC_RECORD, 1},
    {"slm.fay", SLM, AUTH_READ_RECORD, T_CTC_RECORD, 0},
    {"mgr.jones", FLM, AUTH_READ_RECORD, T_CTC_RECORD, 0},
    {"flm.cara", SLM, AUTH_READ_RECORD, T_CTC_RECORD, 0},
    {"slm.eve", SLM, AUTH_READ_ACTION, T_CTC_ACTION, 1},
    {"flm.cara", FLM, AUTH_READ_ACTION, T_CTC_ACTION, 1},
    {"vp.zed", SLM, AUTH_READ_ACTION, T_CTC_ACTION, 1},
    {"slm.fay", SLM, AUTH_READ_ACTION, T_CTC_ACTION, 0},
    {"mgr.jones", FLM, AUTH_READ_ACTION, T_CTC_ACTION, 0},
    {"flm.cara", SLM, AUTH_READ_ACTION, T_CTC_ACTION, 0},
    /* Coaching my managers (a second-level manager's own coaching). */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_CM_EVE, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_CM_EVE, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_CM_EVE, 1},
    {"slm.fay", SLM, AUTH_DASHBOARD, T_CM_EVE, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_CM_FAY, 0},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_CM_EVE, 1},
    {"vp.zed", SLM, AUTH_DASHBOARD, T_CM_FAY, 0},
    {"slm.eve", OBS | FLM, AUTH_DASHBOARD, T_CM_EVE, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_CM_FAY, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_CM_FAY, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_CM_EVE, 0},
    /* My reliability: an observer's own, never another observer's; leads
     * and administrators anyone's; no manager's, not even the observer's
     * manager, and not a role the user does not hold. */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_OR_ANN, 1},
    {"obs.ann", OBS, AUTH_DASHBOARD, T_OR_BEN, 0},
    {"obs.ben", OBS, AUTH_DASHBOARD, T_OR_ANN, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_OR_ANN, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_OR_ANN, 0},
    {"slm.eve", SLM | OBS, AUTH_DASHBOARD, T_OR_ANN, 0},
    {"obs.ann", FLM, AUTH_DASHBOARD, T_OR_ANN, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_OR_ANN, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_OR_BEN, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_OR_ANN, 0},
    /* Observer reliability with a subject, an observer's calibration
     * history: leads and administrators only. The observer reads their own
     * on their own page (T_OR_ANN), never through this one. */
    {"obs.ann", OBS, AUTH_DASHBOARD, T_OBSERVERS_ANN, 0},
    {"obs.ben", OBS, AUTH_DASHBOARD, T_OBSERVERS_ANN, 0},
    {"flm.cara", FLM, AUTH_DASHBOARD, T_OBSERVERS_ANN, 0},
    {"slm.eve", SLM, AUTH_DASHBOARD, T_OBSERVERS_ANN, 0},
    {"slm.eve", SLM | OBS, AUTH_DASHBOARD, T_OBSERVERS_ANN, 0},
    {"lead.gil", LEAD, AUTH_DASHBOARD, T_OBSERVERS_ANN, 1},
    {"admin.hal", ADMIN, AUTH_DASHBOARD, T_OBSERVERS_ANN, 1},
    {"rep.ida", 0, AUTH_DASHBOARD, T_OBSERVERS_ANN, 0},
};

static const char *action_name(enum auth_action a)
{
    static const char *const names[] = {"hello",
                                        "submit",
                                        "read",
                                        "list",
                                        "rubrics",
                                        "cert status",
                                        "add reference",
                                        "stats",
                                        "people",
                                        "import outcomes",
                                        "import sessions",
                                        "export",
                                        "dashboard",
                                        "read action",
                                        "calibrate",
                                        "retire reference",
                                        "assignments",
                                        "draw assignments",
                                        "coverage plans",
                                        "score"};

    return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

/* Fills t for one of the dashboard targets (the chains: today's managers
 * above the subject). */
static void dashboard_target(enum target target, struct auth_target *t, const char (*cara)[65],
                             const char (*eve)[65], const char (*fay)[65], const char (*dan)[65])
{
    switch (target) {
    case T_MM_EVE:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS;
        t->subject = "slm.eve";
        t->chain = eve;
        t->n_chain = 1;
        break;
    case T_MM_FAY:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS;
        t->subject = "slm.fay";
        t->chain = fay;
        t->n_chain = 1;
        break;
    case T_MGR_CARA:
    case T_MC_CARA:
        t->dashboard = target == T_MGR_CARA
                           ? COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER
                           : COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING;
        t->subject = "flm.cara";
        t->chain = cara;
        t->n_chain = 2;
        break;
    case T_MGR_DAN:
    case T_MC_DAN:
        t->dashboard = target == T_MGR_DAN ? COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER
                                           : COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING;
        t->subject = "flm.dan";
        t->chain = dan;
        t->n_chain = 2;
        break;
    case T_CM_EVE:
    case T_CM_FAY:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS;
        t->subject = target == T_CM_EVE ? "slm.eve" : "slm.fay";
        t->chain = target == T_CM_EVE ? eve : fay;
        t->n_chain = 1;
        break;
    case T_PROGRAMME:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME;
        t->subject = "";
        break;
    case T_OBSERVERS:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS;
        t->subject = "";
        break;
    case T_OR_ANN:
    case T_OR_BEN:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER;
        t->subject = target == T_OR_ANN ? "obs.ann" : "obs.ben";
        break;
    case T_OBSERVERS_ANN:
        t->dashboard = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS;
        t->subject = "obs.ann";
        break;
    default:
        break;
    }
}

/* Fills t for one of the AUTH_SCORE targets. */
static void score_target(enum target target, struct auth_target *t, const char (*cara)[65],
                         const char (*eve)[65], const char (*fay)[65], const char (*dan)[65])
{
    switch (target) {
    case T_SCORE_CARA:
        t->coach = "flm.cara";
        t->coachee = "rep.ida";
        t->chain = cara;
        t->n_chain = 2;
        break;
    case T_SCORE_DAN:
        t->coach = "flm.dan";
        t->coachee = "rep.jon";
        t->chain = dan;
        t->n_chain = 2;
        break;
    case T_SCORE_EVE:
        t->coach = "slm.eve";
        t->coachee = "flm.cara";
        t->chain = eve;
        t->n_chain = 1;
        t->coaches_coach = 1;
        break;
    case T_SCORE_FAY:
        t->coach = "slm.fay";
        t->coachee = "flm.dan";
        t->chain = fay;
        t->n_chain = 1;
        t->coaches_coach = 1;
        break;
    default:
        break;
    }
}

static void test_table(void **state)
{
    static uint8_t ref[16] = {1};
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;
    Coachq__V1__StoredObservation rec = COACHQ__V1__STORED_OBSERVATION__INIT;
    Coachq__V1__ActionRecord act = COACHQ__V1__ACTION_RECORD__INIT;
    static const char chain[2][65] = {"slm.eve", "vp.zed"};
    static const char chain_eve[1][65] = {"vp.zed"};
    static const char chain_fay[1][65] = {"vp.yan"};
    static const char chain_dan[2][65] = {"slm.fay", "vp.yan"};
    int failures = 0;

    (void)state;
    o.coach_id = (char *)"flm.cara";
    o.coachee_id = (char *)"rep.ida";
    act.coach_id = (char *)"flm.cara";
    act.coachee_id = (char *)"rep.ida";
    rec.observation = &o;
    rec.observer_id = (char *)"obs.ann";
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct auth_user u;
        struct auth_target t;
        int got;

        memset(&u, 0, sizeof(u));
        snprintf(u.id, sizeof(u.id), "%s", r->user);
        u.roles = r->roles;
        memset(&t, 0, sizeof(t));
        o.coach_id = (char *)"flm.cara";
        o.coachee_id = (char *)"rep.ida";
        act.coach_id = (char *)"flm.cara";
        act.coachee_id = (char *)"rep.ida";
        o.calibration_ref.data = r->target == T_CALIBRATION ? ref : NULL;
        o.calibration_ref.len = r->target == T_CALIBRATION ? sizeof(ref) : 0;
        if (r->target == T_RECORD || r->target == T_CALIBRATION) {
            t.rec = &rec;
            t.chain = chain;
            t.n_chain = 2;
        } else if (r->target == T_OWN_STATUS) {
            t.observer = r->user;
        } else if (r->target == T_ANN_STATUS) {
            t.observer = "obs.ann";
        } else if (r->target == T_ACTION || r->target == T_ACTION_DONE) {
            act.status = r->target == T_ACTION ? COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN
                                               : COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
            t.action = &act;
            t.action_observer = "obs.ann";
            t.chain = chain;
            t.n_chain = 2;
        } else if (r->target == T_CTC_RECORD || r->target == T_CTC_ACTION) {
            o.coach_id = (char *)"slm.eve";
            o.coachee_id = (char *)"flm.cara";
            act.coach_id = (char *)"slm.eve";
            act.coachee_id = (char *)"flm.cara";
            act.status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
            t.rec = r->target == T_CTC_RECORD ? &rec : NULL;
            t.action = r->target == T_CTC_ACTION ? &act : NULL;
            t.action_observer = "obs.ann";
            t.chain = chain_eve;
            t.n_chain = 1;
            t.coaches_coach = 1;
        } else if (r->target == T_OR_ANN || r->target == T_OR_BEN || r->target == T_OBSERVERS_ANN) {
            dashboard_target(r->target, &t, chain, chain_eve, chain_fay, chain_dan);
        } else if (r->target >= T_SCORE_CARA) {
            score_target(r->target, &t, chain, chain_eve, chain_fay, chain_dan);
        } else if (r->target >= T_MM_EVE) {
            dashboard_target(r->target, &t, chain, chain_eve, chain_fay, chain_dan);
        }
        got = auth_decide(&u, r->action, &t);
        if ((got == 0) != r->allowed || (got != 0 && got != -EACCES)) {
            fprintf(stderr, "row %zu: %s (roles 0x%x) %s: got %d, want %s\n", i, r->user, r->roles,
                    action_name(r->action), got, r->allowed ? "allowed" : "-EACCES");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Every action appears in the table for every role, so a new request
 * cannot be added without deciding who may make it. */
static void test_table_covers_every_role_and_action(void **state)
{
    static const unsigned roles[] = {OBS, FLM, SLM, LEAD, ADMIN, 0};

    (void)state;
    for (int a = AUTH_HELLO; a <= AUTH_SCORE; a++) {
        for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++) {
            int found = 0;

            for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && !found; i++) {
                found = rows[i].action == (enum auth_action)a && rows[i].roles == roles[k];
            }
            if (!found && !(roles[k] == 0 && a == AUTH_READ_RECORD)) {
                fail_msg("no row for action %s and roles 0x%x", action_name((enum auth_action)a),
                         roles[k]);
            }
        }
    }
}

/* A dashboard decision without a target refuses even a lead. */
static void test_dashboard_needs_target(void **state)
{
    struct auth_user u;

    (void)state;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "lead.gil");
    u.roles = LEAD;
    assert_int_equal(auth_decide(&u, AUTH_DASHBOARD, NULL), -EACCES);
}

static void test_roles_of(void **state)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role roles[3] = {COACHQ__V1__ROLE__ROLE_OBSERVER,
                                 COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, (Coachq__V1__Role)99};

    (void)state;
    assert_int_equal(auth_roles_of(&p), 0);
    p.roles = roles;
    p.n_roles = 3;
    /* An unknown role value grants nothing. */
    assert_int_equal(auth_roles_of(&p), OBS | LEAD);
    assert_int_equal(auth_roles_of(NULL), 0);
}

static void test_empty_user_refused(void **state)
{
    struct auth_user u;

    (void)state;
    memset(&u, 0, sizeof(u));
    u.roles = ADMIN;
    assert_int_equal(auth_decide(&u, AUTH_HELLO, NULL), -EACCES);
    assert_int_equal(auth_decide(NULL, AUTH_HELLO, NULL), -EACCES);
}

/* The writer's hook: auth_may_score() takes the observer's roles from their
 * person record, so a second-level manager who observes is held to their
 * line there too. */
static void test_may_score_from_person(void **state)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role roles[2] = {COACHQ__V1__ROLE__ROLE_OBSERVER,
                                 COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER};
    static const char cara[2][65] = {"slm.eve", "vp.zed"};
    static const char dan[2][65] = {"slm.fay", "vp.yan"};
    struct store_scorer sc;

    (void)state;
    memset(&sc, 0, sizeof(sc));
    p.id = (char *)"slm.eve";
    p.roles = roles;
    p.n_roles = 2;
    sc.observer = &p;
    sc.coach_id = "flm.cara";
    sc.chain = cara;
    sc.n_chain = 2;
    assert_int_equal(auth_may_score(&sc), 0);
    sc.coach_id = "flm.dan";
    sc.chain = dan;
    assert_int_equal(auth_may_score(&sc), -EACCES);
    p.n_roles = 1; /* an observer only */
    assert_int_equal(auth_may_score(&sc), 0);
    assert_int_equal(auth_may_score(NULL), -EACCES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_covers_every_role_and_action),
        cmocka_unit_test(test_dashboard_needs_target),
        cmocka_unit_test(test_roles_of),
        cmocka_unit_test(test_empty_user_refused),
        cmocka_unit_test(test_may_score_from_person),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
