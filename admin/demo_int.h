/*
 * demo_int: the demo generator's private header, shared by its files and
 * seen by nothing outside admin/demo*.c. The public entry is demo.h.
 *
 * The generator first plans the whole organisation and year in memory (a
 * struct demo), from the seed alone, then replays it into the store in time
 * order:
 *
 *   demo.c           demo_run(): checks, planning, replay, summary
 *   demo_rng.c       the random streams
 *   demo_people.c    the people, their lines and moves, the managers' model
 *   demo_sessions.c  the year's coaching sessions and observers' records
 *   demo_obs.c       building observations and submitting them in batches
 *   demo_txns.c      the organisation, references and the year's timeline
 *   demo_outcomes.c  the business results
 *   demo_ctc.c       coaching the coaches: second-level managers' reviews
 *                    of their managers, and those who observe their lines
 *
 * Ownership: demo_run() owns the one struct demo (and its sess, rec and
 * buf arrays, the rubrics it read); every function here borrows it for
 * the call. Everything runs on demo_run()'s calling thread; the *_txn
 * callbacks run inside store_exec() or store_view() as their names say.
 * Fallible functions return 0 or a negative errno or store code.
 */
#ifndef COACHQ_DEMO_INT_H
#define COACHQ_DEMO_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coachq.pb-c.h"
#include "demo.h"
#include "store.h"
#include "validate.h"

#define DEMO_ACTOR "local:demo"
#define DEMO_ORIGIN "coachqd demo"
#define DEMO_PROGRAMME "coaching-skills"
#define DEMO_DOMAIN "example.com"

#define DEMO_LEADS 1
#define DEMO_OBSERVERS 6
#define DEMO_SLMS 4
#define DEMO_FLMS 24
#define DEMO_REPS 150
#define DEMO_PEOPLE (DEMO_LEADS + DEMO_OBSERVERS + DEMO_SLMS + DEMO_FLMS + DEMO_REPS)
/* Where each kind starts in the people array. */
#define DEMO_P_LEAD 0
#define DEMO_P_OBS (DEMO_P_LEAD + DEMO_LEADS)
#define DEMO_P_SLM (DEMO_P_OBS + DEMO_OBSERVERS)
#define DEMO_P_FLM (DEMO_P_SLM + DEMO_SLMS)
#define DEMO_P_REP (DEMO_P_FLM + DEMO_FLMS)

#define DEMO_RUBRICS 2
#define DEMO_RUBRIC_CC 0
#define DEMO_RUBRIC_CR 1
#define DEMO_REFS 2 /* reference sessions per rubric */
#define DEMO_COHORTS 3
#define DEMO_MODULES 5
#define DEMO_MAX_BEH VALIDATE_MAX_RATINGS
#define DEMO_MAX_MOMENTS 160
#define DEMO_MAX_ACTIONS 2
#define DEMO_MAX_TRANSFERS 3
#define DEMO_MAX_ROUNDS 16 /* calibration rounds in the year */
#define DEMO_MAX_EVENTS (DEMO_MAX_ROUNDS + DEMO_MAX_TRANSFERS + 1 + 2 * DEMO_COHORTS)
/* A bound far above what the session rates (demo_people.c) produce
 * (about 700). */
#define DEMO_MAX_RECORDS 6000
#define DEMO_BATCH 250
#define DEMO_MAX_FAULTS_SHOWN 3

#define DEMO_DAY_S 86400
#define DEMO_HOUR_S 3600
#define DEMO_WINDOW_DAYS 365
/* The window starts at 06:00 UTC on its first day: calibration is done
 * before the first session of the day (sessions start from 08:00). */
#define DEMO_WINDOW_HOUR 6
#define DEMO_FIRST_SESSION_MIN (8 * 60)
#define DEMO_LAST_SESSION_MIN (16 * 60 + 30)
/* The organisation's lines held from this many days before the window. */
#define DEMO_ORG_DAYS_BEFORE 120
/* The people were imported this many days before the window. */
#define DEMO_SETUP_DAYS_BEFORE 14
/* The reference sessions were recorded this many days before the window
 * and registered this many days before it. */
#define DEMO_RECORDED_DAYS_BEFORE 20
#define DEMO_REGISTERED_DAYS_BEFORE 3

enum demo_stream {
    DEMO_S_PEOPLE = 1,
    DEMO_S_FLM,
    DEMO_S_ORG,
    DEMO_S_OBSERVER,
    DEMO_S_SESSIONS,
    DEMO_S_REFS,
    DEMO_S_CALIB,
    DEMO_S_OUTCOMES,
    DEMO_S_FOLLOW, /* action ids, managers' follow-through and follow-up statuses */
    DEMO_S_HELD,   /* sessions held: each manager's cadence and each rep's days */
    DEMO_S_CTC,    /* coaching the coaches (demo_ctc.c) */
};

enum demo_event_kind {
    DEMO_EV_CALIBRATE = 1,
    DEMO_EV_LINE,
    DEMO_EV_ENROL,
    DEMO_EV_COMPLETE,
};

struct demo_rng {
    uint64_t s;
};

enum demo_kind {
    DEMO_K_LEAD = 1,
    DEMO_K_OBSERVER,
    DEMO_K_SLM,
    DEMO_K_FLM,
    DEMO_K_REP,
};

struct demo_person {
    char id[VALIDATE_MAX_ID + 1];
    char name[64];
    char email[96];
    enum demo_kind kind;
    int manager;      /* person index of the manager at the start, or -1 */
    int new_manager;  /* after a move on move_day, or -1 */
    int32_t move_day; /* 0: never moved */
};

/* A front-line manager as the generator sees them. */
struct demo_flm {
    int person;
    double base;                              /* latent quality on the 1..4 scale */
    double trait[DEMO_RUBRICS][DEMO_MAX_BEH]; /* per behaviour, around base */
    double drift;                             /* change over the year without training */
    double rate;                              /* observed sessions a month */
    double call_review;                       /* share of call-review sessions */
    int busy;                                 /* many sessions, low quality */
    int observer;                             /* the usual observer (0..5) */
    int cohort;                               /* -1: never trained */
    int n_attended;
    int32_t attended[DEMO_MODULES];
    int32_t completed_day; /* 0: did not complete */
    double gain;           /* how much training lifts quality */
};

/* A moment the observers tap. */
struct demo_moment {
    uint32_t off_ms;
    uint8_t kind;
    uint8_t noted;
};

/* A coaching session as it happened; each observer of it scores this. */
struct demo_session {
    int flm;
    int rep; /* person index */
    int rubric;
    Coachq__V1__SessionType type;
    Coachq__V1__CoachingFocus focus;
    int64_t started_at;
    uint32_t duration_s;
    uint8_t topic[3];
    float truth[DEMO_MAX_BEH];
    uint8_t na[DEMO_MAX_BEH];
    struct demo_moment moments[DEMO_MAX_MOMENTS];
    uint16_t n_moments;
    uint8_t n_actions;
    uint8_t action[DEMO_MAX_ACTIONS];
    int32_t due[DEMO_MAX_ACTIONS];
};

/* One observation to submit: an observer's record of a session. */
struct demo_record {
    int64_t received_ms;
    uint32_t session;
    uint8_t observer;
    uint8_t second; /* the second coder of a double-coded session */
    uint64_t noise; /* seeds the observer's rating noise */
    uint8_t id[16];
};

/* A change to the organisation at a moment of the year. */
struct demo_event {
    int64_t at_ms;
    enum demo_event_kind kind;
    int a; /* round, person or cohort */
    int b; /* the new manager (person index) */
    int32_t day;
};

/* A planned record of coaching the coaches (demo_ctc.c): a second-level
 * manager's review of a front-line manager, or a second-level manager's
 * observation of one of their managers coaching a rep. */
struct demo_ctc_item {
    int64_t received_ms;
    int64_t at; /* the session's start, seconds */
    int32_t day;
    int review;   /* 1: review of person f by s; 0: s sits in on planned session f */
    int s;        /* the second-level manager (person index) */
    int f;        /* review: the front-line manager (person); else an index in sess[] */
    int observer; /* review: the observer (index from DEMO_P_OBS) */
    double level; /* review: the second-level manager's level that day */
    uint64_t noise;
    size_t order; /* planning order, for equal received times */
};

/* The scratch an observation is built in before it is packed. */
struct demo_obsbuf {
    Coachq__V1__Observation o;
    Coachq__V1__Rating r[DEMO_MAX_BEH];
    Coachq__V1__Rating *rp[DEMO_MAX_BEH];
    char evidence[DEMO_MAX_BEH][200];
    Coachq__V1__Marker m[DEMO_MAX_MOMENTS];
    Coachq__V1__Marker *mp[DEMO_MAX_MOMENTS];
    Coachq__V1__Action a[DEMO_MAX_ACTIONS];
    Coachq__V1__Action *ap[DEMO_MAX_ACTIONS];
    uint8_t action_id[DEMO_MAX_ACTIONS][16];
    Coachq__V1__FollowUp u[DEMO_MAX_ACTIONS];
    Coachq__V1__FollowUp *up[DEMO_MAX_ACTIONS];
    uint8_t follow_id[DEMO_MAX_ACTIONS][16];
    char notes[400];
    uint8_t id[16];
    uint8_t ref[16];
    Coachq__V1__Recording rec; /* a recorded call review's (demo_recording.c) */
    char rec_ref[48];
};

struct demo {
    struct store *s;
    FILE *progress;
    uint64_t seed;
    int64_t now;
    int64_t now_ms;
    int32_t now_day;
    int32_t start_day;
    int32_t org_day;
    int64_t setup_ms;
    struct store_policy policy;
    Coachq__V1__Rubric *rubric[DEMO_RUBRICS];

    struct demo_person people[DEMO_PEOPLE];
    struct demo_flm flm[DEMO_FLMS];
    double severity[DEMO_OBSERVERS];
    int32_t cohort_day[DEMO_COHORTS];
    char cohort_id[DEMO_COHORTS][24];
    int n_transfers;

    uint8_t ref_id[DEMO_RUBRICS][DEMO_REFS][16];
    uint8_t master[DEMO_RUBRICS][DEMO_REFS][DEMO_MAX_BEH]; /* 0: not applicable */
    int64_t ref_recorded[DEMO_RUBRICS][DEMO_REFS];
    int ref_coach[DEMO_RUBRICS][DEMO_REFS];
    int ref_rep[DEMO_RUBRICS][DEMO_REFS];
    int rounds;

    struct demo_event ev[DEMO_MAX_EVENTS];
    size_t n_ev;
    struct demo_session *sess;
    size_t n_sess;
    size_t cap_sess;
    struct demo_record *rec;
    size_t n_rec;
    size_t cap_rec;

    struct store_write batch[DEMO_BATCH];
    uint8_t *buf[DEMO_BATCH];
    int calib[DEMO_BATCH];
    size_t n_batch;
    struct demo_obsbuf ob;

    unsigned stored;
    unsigned calibrations;
    unsigned revealed; /* calibration attempts shown in full (demo_cal.c) */
    unsigned refused;
    unsigned double_coded;
    unsigned follow_ups;
    /* Per rep (person index): the session (index + 1; 0 none) of the last
     * record built that agreed actions with them, for the next session's
     * follow-ups. */
    uint32_t last_sess[DEMO_PEOPLE];
    unsigned outcomes;
    unsigned held;                  /* sessions held stored (demo_cadence.c) */
    Coachq__V1__Rubric *ctc_rubric; /* coaching-the-coach, or NULL (demo_ctc.c) */
    struct demo_ctc_item *ctc;      /* planned, in received order */
    size_t n_ctc;
    size_t cap_ctc;
    size_t i_ctc;          /* the next one to queue */
    unsigned ctc_reviews;  /* second-level managers' reviews of their managers (demo_ctc.c) */
    unsigned slm_observed; /* sessions observed by second-level managers (demo_ctc.c) */
    unsigned recordings;   /* reviews of recorded calls (demo_recording.c) */
    unsigned recordings_rep_first; /* of them, the rep commented first */
    int fatal;
};

/* What the demo needs to know before it writes anything. */
struct demo_check {
    struct demo *d;
    int has_people;
    int missing; /* index of a missing rubric + 1 */
};

/* Whether every observer is certified for every rubric on day. */
struct demo_certs_check {
    struct demo *d;
    int32_t day;
    int observer; /* the first one not certified, or -1 */
    int rubric;
    char reason[200];
    unsigned certified; /* observers certified for every rubric */
};

/* Short texts of the actions agreed in sessions (demo_sessions.c). */
#define DEMO_ACTION_TEXTS 8
extern const char *const demo_action_texts[DEMO_ACTION_TEXTS];
extern const char *const demo_action_skills[DEMO_ACTION_TEXTS];
/* The built-in rubrics the demo scores against, by DEMO_RUBRIC_* index. */
extern const char *const demo_rubric_ids[DEMO_RUBRICS];

/* ---- demo.c ---- */

/* Writes day as YYYY-MM-DD into out (16 bytes). Returns out. */
const char *demo_day_str(int32_t day, char out[16]);
/* One progress line on d->progress, if any (the newline is added). */
void demo_say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- demo_rng.c ---- */

/* The next 64 random bits of r. */
uint64_t demo_next(struct demo_rng *r);
/* Makes out the stream of its own for (stream, n) under seed. */
void demo_fork(struct demo_rng *out, uint64_t seed, uint64_t stream, uint64_t n);
/* Uniform in [0, 1). */
double demo_unit(struct demo_rng *r);
/* Uniform in 0..n-1 (n >= 1). */
uint32_t demo_below(struct demo_rng *r, uint32_t n);
/* Uniform in [lo, hi). */
double demo_range(struct demo_rng *r, double lo, double hi);
/* About normal with mean 0 and deviation 1. */
double demo_gauss(struct demo_rng *r);
/* True with probability p. */
int demo_chance(struct demo_rng *r, double p);
/* v held within [lo, hi]. */
double demo_clamp(double v, double lo, double hi);
/* A random version-4 UUID from r. */
void demo_uuid(struct demo_rng *r, uint8_t out[16]);

/* ---- demo_people.c ---- */

/* The working day nearest after a weekend. */
int32_t demo_weekday(int32_t day);
/* The manager (person index) of person i on day, or -1. */
int demo_manager_on(const struct demo *d, int i, int32_t day);
/* Plans the people, their first lines and the year's moves. */
void demo_plan_people(struct demo *d);
/* Plans the managers' latent quality, habits, observers and training. */
void demo_plan_managers(struct demo *d);

/* ---- demo_sessions.c ---- */

/* Manager f's quality on behaviour b of rubric ri on day, before a
 * session's own ups and downs. */
double demo_quality(const struct demo *d, const struct demo_flm *f, int ri, size_t b, int32_t day);
/* Plans a year of sessions for every manager and their records, sorted
 * in the order they reach the server. Returns 0, -E2BIG or -ENOMEM. */
int demo_plan_sessions(struct demo *d);

/* ---- demo_obs.c ---- */

/* Writes an evidence note for a rating score of b into out (len bytes). */
void demo_evidence_note(char *out, size_t len, struct demo_rng *r, const Coachq__V1__Behaviour *b,
                        uint32_t score, uint32_t minute);
/* Builds the observation of record rec into d->ob. */
void demo_build_record(struct demo *d, const struct demo_record *rec);
/* Builds observer's attempt at reference j of rubric ri in calibration
 * round round into d->ob. */
void demo_build_attempt(struct demo *d, int round, int observer, int ri, int j);
/* Submits the queued batch, waits for its commit and counts the
 * outcomes. Returns 0 or the store's failure (said on d->progress). */
int demo_flush(struct demo *d);
/* Checks, packs and queues d->ob as observer's submission at received_ms
 * (calib: a calibration attempt); flushes a full batch. */
int demo_queue(struct demo *d, int observer, int64_t received_ms, int calib);

/* ---- demo_txns.c ---- */

/* Appends an audit entry by the demo (write transaction). */
int demo_audit(struct store_txn *t, int64_t at_ms, const char *action, const char *subject,
               const char *detail);
/* Fills the struct demo_check arg: people stored, rubrics read into
 * c->d->rubric (read transaction). */
int demo_check_txn(struct store_txn *t, void *arg);
/* Stores the people, their first lines and the programme (write
 * transaction; arg is the struct demo). */
int demo_setup_txn(struct store_txn *t, void *arg);
/* Plans the calibration references' master scores. */
void demo_plan_references(struct demo *d);
/* Stores the calibration references (write transaction; arg is the
 * struct demo). */
int demo_refs_txn(struct store_txn *t, void *arg);
/* Fills the struct demo_certs_check arg (read transaction). */
int demo_certs_txn(struct store_txn *t, void *arg);
/* Plans the year's changes to the organisation, in time order. */
void demo_plan_events(struct demo *d);
/* Submits every record in time order, with the organisation's changes
 * made when they happen. */
int demo_timeline(struct demo *d);

/* ---- demo_ctc.c ---- */

/* Coaching the coaches, before the timeline: second-level managers who
 * observe and the certifications for coaching-the-coach (at setup time),
 * then the year's reviews of front-line managers by their second-level
 * manager and the second-level managers' observations of their own lines,
 * planned into d->ctc. Returns 0 (also when the rubric is not loaded: said
 * on d->progress) or a negative code. */
int demo_ctc_setup(struct demo *d);

/* After the year: calibration attempts shown in full and a retired
 * reference (demo_cal.c). Returns 0 or a negative code after saying why. */
int demo_cal_finish(struct demo *d);
/* Queues the planned records received up to until_ms (INT64_MAX: all),
 * in order. Returns 0 or demo_queue()'s code. */
int demo_ctc_due(struct demo *d, int64_t until_ms);

/* ---- demo_outcomes.c ---- */

/* Stores the business results (write transaction; arg is the struct
 * demo). */
int demo_outcomes_txn(struct store_txn *t, void *arg);

/* The coaching commitments (demo_cadence.c): the organisation's "every rep
 * every 2 weeks" and the programme's "30 minutes a week per manager",
 * audited as the administrator's verb would be. Write transaction. */
int demo_commitments_txn(struct store_txn *t, void *arg);
/* The sessions held the organisation imports (demo_cadence.c), one row per
 * manager, rep and day over the year, at each manager's own cadence: some
 * coach every rep weekly, some every two or three weeks, some rarely, and
 * the busy ones (many sessions at low quality) every few days. Sets
 * d->held. */
int demo_sessions_held_txn(struct store_txn *t, void *arg);

/* Makes the record of rec built in d->ob the review of a recorded call
 * when its session is one (demo_recording.c). */
void demo_recording(struct demo *d, const struct demo_record *rec);
/* The observation programme: a coverage plan, last month's and this
 * month's draws, and a few assignments fulfilled (demo_assign.c). Returns 0
 * or a store code after saying why. */
int demo_assignments(struct demo *d);

#endif
