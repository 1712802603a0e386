/*
 * demo: a demo organisation seeded through the real code paths (see
 * demo.h).
 *
 * Nothing here writes around the rules: people, lines and enrolments go
 * through people.h inside store_exec(), references through certs.h, and
 * every calibration attempt and observation is packed and queued with
 * store_submit() like a client's submission, so the writer checks it
 * against the organisation as it stood on the session date. A refusal is a
 * bug in this generator, and is reported as one.
 *
 * Determinism: every random choice comes from a splitmix64 stream derived
 * from the seed and from what is being generated (one stream per manager's
 * sessions, one for the people, ...), so changing how one part draws does
 * not shift the others. Records are submitted in the order of their
 * received time, so sequence numbers, the audit log and the certifications
 * come out the same for the same seed and now.
 */
#include "demo.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "audit.h"
#include "certs.h"
#include "coachq.pb-c.h"
#include "error.h"
#include "outcomes.h"
#include "people.h"
#include "rubrics.h"
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
/* A bound far above what the rates below produce (about 700). */
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
};

enum demo_event_kind {
    DEMO_EV_CALIBRATE = 1,
    DEMO_EV_LINE,
    DEMO_EV_ENROL,
    DEMO_EV_COMPLETE,
};

/* ---- Tables ------------------------------------------------------------ */

struct demo_staff {
    const char *id;
    const char *first;
    const char *last;
};

static const struct demo_staff demo_leads[DEMO_LEADS] = {
    {"lead.amara", "Amara", "Okafor"},
};

static const struct demo_staff demo_observers[DEMO_OBSERVERS] = {
    {"obs.chen", "Wei", "Chen"},      {"obs.dubois", "Claire", "Dubois"},
    {"obs.mensah", "Kofi", "Mensah"}, {"obs.novak", "Petra", "Novak"},
    {"obs.silva", "Rafael", "Silva"}, {"obs.walsh", "Niamh", "Walsh"},
};

static const struct demo_staff demo_slms[DEMO_SLMS] = {
    {"slm.north", "Hannah", "Berg"},
    {"slm.south", "Diego", "Ramos"},
    {"slm.east", "Yuki", "Tanaka"},
    {"slm.west", "Liam", "O'Brien"},
};

static const struct demo_staff demo_flms[DEMO_FLMS] = {
    {"flm.garcia", "Lucia", "Garcia"},      {"flm.nakamura", "Kenji", "Nakamura"},
    {"flm.kowalski", "Marta", "Kowalski"},  {"flm.okonkwo", "Chidi", "Okonkwo"},
    {"flm.lindqvist", "Erik", "Lindqvist"}, {"flm.moreau", "Sophie", "Moreau"},
    {"flm.patel", "Priya", "Patel"},        {"flm.rossi", "Marco", "Rossi"},
    {"flm.schmidt", "Anna", "Schmidt"},     {"flm.haddad", "Karim", "Haddad"},
    {"flm.jensen", "Freja", "Jensen"},      {"flm.murphy", "Sean", "Murphy"},
    {"flm.costa", "Ines", "Costa"},         {"flm.ivanova", "Elena", "Ivanova"},
    {"flm.fischer", "Jonas", "Fischer"},    {"flm.ahmed", "Sara", "Ahmed"},
    {"flm.bianchi", "Luca", "Bianchi"},     {"flm.larsen", "Ida", "Larsen"},
    {"flm.santos", "Tiago", "Santos"},      {"flm.weber", "Lena", "Weber"},
    {"flm.kim", "Min-jun", "Kim"},          {"flm.dawson", "Grace", "Dawson"},
    {"flm.horvat", "Luka", "Horvat"},       {"flm.mendes", "Beatriz", "Mendes"},
};

static const char *const demo_first[] = {
    "Adam",   "Aisha", "Alex",  "Amir",  "Ana",   "Ben",       "Carla",   "Chloe",
    "Daniel", "Dina",  "Elif",  "Emma",  "Felix", "Fatima",    "Gabriel", "Hana",
    "Hugo",   "Isaac", "Jade",  "Jamal", "Julia", "Kai",       "Laila",   "Leo",
    "Maya",   "Mateo", "Mia",   "Nadia", "Noah",  "Olga",      "Omar",    "Paula",
    "Ravi",   "Rosa",  "Samir", "Sofia", "Tom",   "Valentina", "Yara",    "Zoe",
};

static const char *const demo_last[] = {
    "Abbott", "Baker",    "Brennan", "Castro",  "Diallo",    "Eriksen", "Ferreira", "Friedman",
    "Gomez",  "Hansen",   "Hughes",  "Ibrahim", "Jovanovic", "Keller",  "Lambert",  "Lopez",
    "Martin", "Meyer",    "Nguyen",  "Nielsen", "Novotny",   "Olsen",   "Park",     "Petrov",
    "Quinn",  "Reyes",    "Richter", "Sato",    "Schultz",   "Singh",   "Sorensen", "Stone",
    "Tran",   "Van Dijk", "Vargas",  "Wagner",  "Wong",      "Yilmaz",  "Young",    "Zhang",
};

static const char *const demo_modules[DEMO_MODULES] = {
    "1-coaching-mindset", "2-ask-dont-tell", "3-deal-review-framework",
    "4-call-review",      "5-practice-lab",
};

/* Evidence notes: what an observer writes for a strong (3-4) or a weak
 * (1-2) rating of a shipped behaviour. Other rubrics' behaviours get the
 * generic notes. */
struct demo_phrases {
    const char *id;
    const char *good[2];
    const char *poor[2];
};

static const struct demo_phrases demo_evidence[] = {
    {"collaborative",
     {"Agreed the purpose of the session with the rep before starting.",
      "Asked what the rep wanted from the session and built the agenda on it."},
     {"Opened with a list of instructions; the rep barely spoke.",
      "Set the agenda alone and went through it without checking in."}},
    {"regular-cadence",
     {"Opened with the actions from last week's session.",
      "Part of the fortnightly rhythm; the next session was booked at the end."},
     {"First session in weeks, called at short notice.",
      "No link to any earlier session; an ad hoc catch-up."}},
    {"consistent-framework",
     {"Ran overview, clarifying questions, risks, then solutions.",
      "Followed the team's deal review structure step by step."},
     {"Jumped between topics with no structure.",
      "Went straight to solutions without an overview."}},
    {"buyers-view",
     {"Asked: if you were the customer, why would you buy from us now?",
      "Had the rep argue the buyer's case against our proposal."},
     {"The customer's perspective never came up.", "Dismissed the buyer's concerns as noise."}},
    {"looks-for-evidence",
     {"Asked how we know the champion backs us; the rep cited the signed pilot.",
      "Pushed back on 'they love us' and asked for customer actions."},
     {"Accepted 'they really like us' without a question.",
      "Took the forecast category at face value."}},
    {"elicits-critical-thinking",
     {"Asked for the top three reasons we could lose this deal.",
      "Let the rep work out the timeline risk unaided."},
     {"Gave the answers before the rep had time to think.",
      "Listed the risks without asking the rep."}},
    {"praises-insight",
     {"Praised the rep's read of the procurement process, specifically.",
      "Recognised the rep's idea to involve the CFO early."},
     {"Good points from the rep went unacknowledged.", "Praise was generic: 'good job'."}},
    {"objective-curious",
     {"Asked questions before drawing any conclusion about the deal.",
      "Stayed curious about an account the manager had lost before."},
     {"Decided the deal was lost before hearing the rep out.",
      "Showed a bias about the account from the start."}},
    {"doesnt-take-over",
     {"Left the next action with the rep and offered support only.",
      "Did not call the customer; coached the rep to do it."},
     {"Took over: said they would call the buyer themselves.",
      "Dictated the strategy and the email to send."}},
    {"documents-actions",
     {"Wrote the agreed actions in the CRM with owners and dates.",
      "Reviewed last session's actions first, then recorded new ones."},
     {"No actions recorded; nothing to follow up next time.",
      "Actions mentioned but neither written down nor owned."}},
    {"rep-prepared-calls",
     {"The rep chose two calls and commented them with timestamps.",
      "The rep explained why each call was chosen."},
     {"No calls chosen; the manager picked one on the spot.", "Calls chosen but not commented."}},
    {"manager-prepared",
     {"The manager had cued the key moments and answered the rep's comments.",
      "Referred to specific timestamps without replaying the call."},
     {"Heard the calls for the first time in the session.", "Had not read the rep's comments."}},
    {"rep-self-assesses-first",
     {"Asked 'how do you think that went?' before giving any view.",
      "The rep assessed each call fully before any feedback."},
     {"Gave a verdict before the rep said anything.", "Interrupted the rep's self-assessment."}},
    {"leads-with-positive",
     {"Opened with a specific strength: the discovery question at minute 4.",
      "Named what worked with this customer, and why."},
     {"Opened with criticism.", "'Nice call, but...' and straight on to the faults."}},
    {"focused-feedback",
     {"Kept to one focus: handling the price objection.",
      "Parked other points explicitly for a later session."},
     {"Listed six things to fix.", "The focus shifted three times in the session."}},
    {"practises-until-right",
     {"Role-played the objection three times until it landed.",
      "Varied the customer's pushback once the rep got it right."},
     {"No practice; talked about what to say instead.", "One quick try and no repeat."}},
    {"tracks-progress",
     {"Compared the talk ratio with last month's baseline.",
      "Agreed a measurable criterion and logged it."},
     {"Progress judged by impression only.", "No criteria: 'you're getting better'."}},
    {"praise-and-repeat",
     {"Praised the rep for using the pause coached last time.",
      "Kept last session's skill in focus and checked it on both calls."},
     {"The improvement on last session's skill went unnoticed.",
      "Moved on to new faults after one success."}},
};

static const char *const demo_generic_good[] = {
    "Clearly shown, with a specific example.",
    "Shown consistently throughout the session.",
};

static const char *const demo_generic_poor[] = {
    "Not seen in the session.",
    "Attempted once, then dropped.",
};

static const char *const demo_accounts[] = {
    "Northwind Logistics", "Bluefin Insurance", "Harbor Health",   "Alpine Foods",
    "Vega Telecom",        "Crestline Bank",    "Orbit Retail",    "Kestrel Energy",
    "Meridian Pharma",     "Summit Airlines",   "Lumen Utilities", "Tidewater Freight",
};

static const char *const demo_deal_kinds[] = {"renewal", "expansion", "new logo", "upsell"};
static const char *const demo_stages[] = {"discovery", "proposal", "negotiation", "commit"};
static const char *const demo_skills[] = {
    "handling the price objection", "opening a discovery call",    "asking for the next step",
    "presenting to a CFO",          "multi-threading the account",
};
static const char *const demo_human[] = {
    "a tough quarter and the pressure of the number",
    "three lost deals in a row",
    "workload and the new territory",
    "confidence after a difficult customer call",
};
static const char *const demo_action_texts[] = {
    "Ask the economic buyer for a meeting before the proposal",
    "Map the decision process with the champion",
    "Send the mutual action plan to the customer",
    "Re-qualify the deal against the exit criteria",
    "Practise the discovery opener twice before Friday",
    "Bring two commented calls to the next session",
    "Confirm the budget owner and the sign-off date",
    "Write up the three biggest risks and a plan for each",
};

/* Short marker notes by kind (index = MarkerKind); NULL: none. */
static const char *const demo_marker_notes[] = {
    NULL,
    "asked what the customer said",
    "told the rep what to send",
    "how do we know?",
    "specific praise",
    "rep rated the call first",
    "offered to call the buyer",
    "next step agreed",
};

/* ---- Random numbers ----------------------------------------------------- */

struct demo_rng {
    uint64_t s;
};

static uint64_t demo_next(struct demo_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stream of its own for (stream, n), so that what one part of the demo
 * draws never shifts another part's numbers. */
static void demo_fork(struct demo_rng *out, uint64_t seed, uint64_t stream, uint64_t n)
{
    struct demo_rng m = {seed};

    m.s = demo_next(&m) ^ (stream * 0xd1b54a32d192ed03ULL);
    m.s = demo_next(&m) ^ (n * 0xaef17502108ef2d9ULL);
    out->s = demo_next(&m);
}

/* Uniform in [0, 1). */
static double demo_unit(struct demo_rng *r)
{
    return (double)(demo_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in 0..n-1 (n >= 1). */
static uint32_t demo_below(struct demo_rng *r, uint32_t n)
{
    return (uint32_t)(((demo_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double demo_range(struct demo_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * demo_unit(r);
}

/* About normal with mean 0 and deviation 1 (a scaled sum of four uniforms:
 * close enough for a demo, and no libm). */
static double demo_gauss(struct demo_rng *r)
{
    double s = demo_unit(r) + demo_unit(r) + demo_unit(r) + demo_unit(r);

    return (s - 2.0) * 1.7320508075688772;
}

static int demo_chance(struct demo_rng *r, double p)
{
    return demo_unit(r) < p;
}

static double demo_clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* A random version-4 UUID from the stream. */
static void demo_uuid(struct demo_rng *r, uint8_t out[16])
{
    uint64_t a = demo_next(r);
    uint64_t b = demo_next(r);

    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (56 - 8 * i));
        out[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

/* ---- The model ---------------------------------------------------------- */

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
    char notes[400];
    uint8_t id[16];
    uint8_t ref[16];
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
    unsigned refused;
    unsigned double_coded;
    unsigned outcomes;
    int fatal;
};

/* Writes day as YYYY-MM-DD into out (16 bytes). Returns out. */
static const char *demo_day_str(int32_t day, char out[16])
{
    time_t t = (time_t)day * DEMO_DAY_S;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0) {
        snprintf(out, 16, "day %ld", (long)day);
    }
    return out;
}

static void demo_say(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One progress line (the newline is added). */
static void demo_say(struct demo *d, const char *fmt, ...)
{
    va_list ap;

    if (d->progress == NULL) {
        return;
    }
    fputs("demo: ", d->progress);
    va_start(ap, fmt);
    vfprintf(d->progress, fmt, ap);
    va_end(ap);
    fputc('\n', d->progress);
    fflush(d->progress);
}

/* Monday on or after day. 1970-01-01 was a Thursday. */
static int32_t demo_monday(int32_t day)
{
    int dow = (int)((day + 3) % 7); /* 0 = Monday */

    return dow == 0 ? day : day + (7 - dow);
}

/* The working day nearest after a weekend. */
static int32_t demo_weekday(int32_t day)
{
    int dow = (int)((day + 3) % 7);

    return dow == 5 ? day + 2 : (dow == 6 ? day + 1 : day);
}

/* Writes "first.last@domain" in lower case, letters and digits only. */
static void demo_email(char *out, size_t len, const char *first, const char *last)
{
    size_t n = 0;
    const char *parts[2] = {first, last};

    for (int p = 0; p < 2; p++) {
        if (p == 1 && n + 1 < len) {
            out[n++] = '.';
        }
        for (const char *c = parts[p]; *c != '\0' && n + 1 < len; c++) {
            char ch = *c;

            if (ch >= 'A' && ch <= 'Z') {
                ch = (char)(ch - 'A' + 'a');
            }
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
                out[n++] = ch;
            }
        }
    }
    out[n] = '\0';
    snprintf(out + n, len - n, "@%s", DEMO_DOMAIN);
}

static void demo_person_set(struct demo_person *p, enum demo_kind kind, const char *id,
                            const char *first, const char *last)
{
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->name, sizeof(p->name), "%s %s", first, last);
    demo_email(p->email, sizeof(p->email), first, last);
    p->kind = kind;
    p->manager = -1;
    p->new_manager = -1;
    p->move_day = 0;
}

/* The manager (person index) of person i on day, or -1. */
static int demo_manager_on(const struct demo *d, int i, int32_t day)
{
    const struct demo_person *p = &d->people[i];

    if (p->move_day != 0 && day >= p->move_day) {
        return p->new_manager;
    }
    return day >= d->org_day ? p->manager : -1;
}

static int demo_name_taken(const struct demo *d, int upto, const char *name)
{
    for (int i = 0; i < upto; i++) {
        if (strcmp(d->people[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The people, their first lines and the planned moves. */
static void demo_plan_people(struct demo *d)
{
    struct demo_rng r;
    int slot[DEMO_REPS];
    int team[DEMO_FLMS];
    int i;

    demo_fork(&r, d->seed, DEMO_S_PEOPLE, 0);
    for (i = 0; i < DEMO_LEADS; i++) {
        demo_person_set(&d->people[DEMO_P_LEAD + i], DEMO_K_LEAD, demo_leads[i].id,
                        demo_leads[i].first, demo_leads[i].last);
    }
    for (i = 0; i < DEMO_OBSERVERS; i++) {
        demo_person_set(&d->people[DEMO_P_OBS + i], DEMO_K_OBSERVER, demo_observers[i].id,
                        demo_observers[i].first, demo_observers[i].last);
        /* Observers work in enablement, for the lead. */
        d->people[DEMO_P_OBS + i].manager = DEMO_P_LEAD;
    }
    for (i = 0; i < DEMO_SLMS; i++) {
        demo_person_set(&d->people[DEMO_P_SLM + i], DEMO_K_SLM, demo_slms[i].id, demo_slms[i].first,
                        demo_slms[i].last);
    }
    for (i = 0; i < DEMO_FLMS; i++) {
        demo_person_set(&d->people[DEMO_P_FLM + i], DEMO_K_FLM, demo_flms[i].id, demo_flms[i].first,
                        demo_flms[i].last);
        d->people[DEMO_P_FLM + i].manager = DEMO_P_SLM + i / (DEMO_FLMS / DEMO_SLMS);
    }

    /* Six reps per manager, and the rest one each to managers drawn at
     * random; then the slots are shuffled so that teams are not numbered
     * in blocks. */
    for (i = 0; i < DEMO_REPS; i++) {
        slot[i] = i < DEMO_FLMS * 6 ? i / 6 : -1;
    }
    for (i = DEMO_FLMS * 6; i < DEMO_REPS; i++) {
        int f = (int)demo_below(&r, DEMO_FLMS);

        /* At most one extra rep per team: redraw while f has one. */
        for (int tries = 0; tries < 64; tries++) {
            int has = 0;

            for (int k = DEMO_FLMS * 6; k < i; k++) {
                has += slot[k] == f;
            }
            if (has == 0) {
                break;
            }
            f = (int)demo_below(&r, DEMO_FLMS);
        }
        slot[i] = f;
    }
    for (i = DEMO_REPS - 1; i > 0; i--) {
        int j = (int)demo_below(&r, (uint32_t)i + 1);
        int tmp = slot[i];

        slot[i] = slot[j];
        slot[j] = tmp;
    }
    for (i = 0; i < DEMO_REPS; i++) {
        struct demo_person *p = &d->people[DEMO_P_REP + i];
        char id[16];
        char name[64];
        const char *first = demo_first[0];
        const char *last = demo_last[0];

        /* A fresh full name: the pool holds 1600 and the demo needs 185. */
        for (int tries = 0; tries < 1000; tries++) {
            first = demo_first[demo_below(&r, sizeof(demo_first) / sizeof(demo_first[0]))];
            last = demo_last[demo_below(&r, sizeof(demo_last) / sizeof(demo_last[0]))];
            snprintf(name, sizeof(name), "%s %s", first, last);
            if (!demo_name_taken(d, DEMO_P_REP + i, name)) {
                break;
            }
        }
        snprintf(id, sizeof(id), "rep.%04d", i + 1);
        demo_person_set(p, DEMO_K_REP, id, first, last);
        p->manager = DEMO_P_FLM + slot[i];
    }

    /* Two or three reps move to another team during the year; a mover
     * comes from a team of seven where there is one, so that no team
     * shrinks below five. */
    memset(team, 0, sizeof(team));
    for (i = 0; i < DEMO_REPS; i++) {
        team[slot[i]]++;
    }
    d->n_transfers = 2 + (int)demo_below(&r, 2);
    for (int t = 0; t < d->n_transfers; t++) {
        int rep = -1;
        int to;

        for (int tries = 0; tries < 1000 && rep < 0; tries++) {
            int cand = (int)demo_below(&r, DEMO_REPS);
            struct demo_person *p = &d->people[DEMO_P_REP + cand];

            if (p->move_day == 0 && team[p->manager - DEMO_P_FLM] >= (tries < 500 ? 7 : 6)) {
                rep = cand;
            }
        }
        if (rep < 0) {
            d->n_transfers = t;
            break;
        }
        do {
            to = (int)demo_below(&r, DEMO_FLMS);
        } while (DEMO_P_FLM + to == d->people[DEMO_P_REP + rep].manager || team[to] > 7);
        team[d->people[DEMO_P_REP + rep].manager - DEMO_P_FLM]--;
        team[to]++;
        d->people[DEMO_P_REP + rep].new_manager = DEMO_P_FLM + to;
        d->people[DEMO_P_REP + rep].move_day =
            demo_monday(d->start_day + 100 + (int32_t)demo_below(&r, 150));
    }

    /* One front-line manager moves to another second-level manager. */
    {
        int f = (int)demo_below(&r, DEMO_FLMS);
        struct demo_person *p = &d->people[DEMO_P_FLM + f];
        int to = DEMO_P_SLM + (int)demo_below(&r, DEMO_SLMS - 1);

        if (to >= p->manager) {
            to++;
        }
        p->new_manager = to;
        p->move_day = demo_monday(d->start_day + 150 + (int32_t)demo_below(&r, 70));
    }
}

/* The managers' latent quality, habits, observers and training. */
static void demo_plan_managers(struct demo *d)
{
    struct demo_rng r;
    int order[DEMO_FLMS];
    int obs_perm[DEMO_OBSERVERS];
    int i;

    demo_fork(&r, d->seed, DEMO_S_OBSERVER, 0);
    for (i = 0; i < DEMO_OBSERVERS; i++) {
        /* Observers differ a little in severity (negative: harsher). */
        d->severity[i] = demo_range(&r, -0.3, 0.3);
        obs_perm[i] = i;
    }
    for (i = DEMO_OBSERVERS - 1; i > 0; i--) {
        int j = (int)demo_below(&r, (uint32_t)i + 1);
        int tmp = obs_perm[i];

        obs_perm[i] = obs_perm[j];
        obs_perm[j] = tmp;
    }

    demo_fork(&r, d->seed, DEMO_S_ORG, 0);
    for (i = 0; i < DEMO_FLMS; i++) {
        order[i] = i;
    }
    for (i = DEMO_FLMS - 1; i > 0; i--) {
        int j = (int)demo_below(&r, (uint32_t)i + 1);
        int tmp = order[i];

        order[i] = order[j];
        order[j] = tmp;
    }
    for (i = 0; i < DEMO_FLMS; i++) {
        struct demo_flm *f = &d->flm[i];
        struct demo_rng fr;

        demo_fork(&fr, d->seed, DEMO_S_FLM, (uint64_t)i);
        memset(f, 0, sizeof(*f));
        f->person = DEMO_P_FLM + i;
        f->observer = obs_perm[i % DEMO_OBSERVERS];
        f->cohort = -1;
        f->base = demo_clamp(2.45 + 0.45 * demo_gauss(&fr), 1.5, 3.5);
        f->rate = demo_range(&fr, 3.0, 4.5);
        f->call_review = demo_range(&fr, 0.08, 0.3);
        f->drift = 0.1 * demo_gauss(&fr);
        f->gain = demo_range(&fr, 0.35, 0.85);
        for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
            for (int b = 0; b < DEMO_MAX_BEH; b++) {
                f->trait[ri][b] = 0.3 * demo_gauss(&fr);
            }
        }
    }
    /* Three managers, the first three of the shuffled order, log many
     * sessions at low quality. */
    for (i = 0; i < 3; i++) {
        struct demo_flm *f = &d->flm[order[i]];

        f->busy = 1;
        f->base = demo_range(&r, 1.45, 1.95);
        f->rate = demo_range(&r, 6.0, 7.5);
        f->gain *= 0.4;
    }
    /* Shuffled again (busy managers may or may not train): the first
     * twenty train in cohorts of seven, seven and six; four never do. */
    for (i = 0; i < DEMO_FLMS; i++) {
        int j = (int)demo_below(&r, (uint32_t)(DEMO_FLMS - i)) + i;
        int tmp = order[i];

        order[i] = order[j];
        order[j] = tmp;
    }
    for (int c = 0; c < DEMO_COHORTS; c++) {
        d->cohort_day[c] = demo_monday(d->start_day + 91 * (c + 1));
        {
            char ds[16];

            demo_day_str(d->cohort_day[c], ds);
            /* "cs-YYYY-MM": the cohort's month. */
            snprintf(d->cohort_id[c], sizeof(d->cohort_id[c]), "cs-%.7s", ds);
        }
    }
    for (i = 0; i < 20; i++) {
        struct demo_flm *f = &d->flm[order[i]];
        int c = i < 7 ? 0 : (i < 14 ? 1 : 2);
        int completes = demo_chance(&r, 0.85);
        int n = completes ? DEMO_MODULES : 2 + (int)demo_below(&r, 3);

        f->cohort = c;
        f->n_attended = n;
        for (int m = 0; m < n; m++) {
            f->attended[m] = d->cohort_day[c] + 7 * m + (int32_t)demo_below(&r, 2);
        }
        f->completed_day = completes ? f->attended[n - 1] : 0;
    }
}

/* ---- Sessions ----------------------------------------------------------- */

/* The manager's quality on behaviour b of rubric ri on day, before the
 * session's own ups and downs. */
static double demo_quality(const struct demo *d, const struct demo_flm *f, int ri, size_t b,
                           int32_t day)
{
    double q = f->base + f->trait[ri][b] + f->drift * (double)(day - d->start_day) / 365.0;

    /* Training pays off gradually over two months after completion; a
     * manager who dropped out gets a little of it. */
    if (f->completed_day > 0 && day > f->completed_day) {
        q += f->gain * demo_clamp((double)(day - f->completed_day) / 60.0, 0.0, 1.0);
    } else if (f->completed_day == 0 && f->n_attended > 0 && day > f->attended[f->n_attended - 1]) {
        q += 0.25 * f->gain *
             demo_clamp((double)(day - f->attended[f->n_attended - 1]) / 60.0, 0.0, 1.0);
    }
    return q;
}

/* How likely behaviour b is not applicable in a session of type t. */
static double demo_na_chance(const Coachq__V1__Behaviour *b, Coachq__V1__SessionType t)
{
    const char *id = b->id;

    if (!b->allow_not_applicable) {
        return 0.0;
    }
    if (strcmp(id, "buyers-view") == 0 || strcmp(id, "looks-for-evidence") == 0) {
        if (t == COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN) {
            return 0.6;
        }
        return t == COACHQ__V1__SESSION_TYPE__SESSION_TYPE_SKILL_PRACTICE ? 0.35 : 0.05;
    }
    if (strcmp(id, "praise-and-repeat") == 0) {
        return 0.3;
    }
    if (strcmp(id, "practises-until-right") == 0) {
        return 0.15;
    }
    return 0.1;
}

static void demo_moment_add(struct demo_session *s, struct demo_rng *r, uint8_t kind, double from,
                            double to)
{
    struct demo_moment *m;
    double span = (double)s->duration_s * 1000.0;

    if (s->n_moments >= DEMO_MAX_MOMENTS) {
        return;
    }
    m = &s->moments[s->n_moments++];
    m->kind = kind;
    m->off_ms = (uint32_t)(span * demo_range(r, from, to));
    if (m->off_ms >= s->duration_s * 1000u) {
        m->off_ms = s->duration_s * 1000u - 1;
    }
    m->noted = demo_chance(r, 0.15) ? 1 : 0;
}

/* n moments of kind, spread over [from, to) of the session. */
static void demo_moments(struct demo_session *s, struct demo_rng *r, uint8_t kind, double rate,
                         double from, double to)
{
    double minutes = (double)s->duration_s / 60.0 * (to - from);
    int n = (int)(rate * minutes + demo_unit(r));

    for (int i = 0; i < n; i++) {
        demo_moment_add(s, r, kind, from, to);
    }
}

static int demo_moment_cmp(const void *a, const void *b)
{
    const struct demo_moment *x = a;
    const struct demo_moment *y = b;

    if (x->off_ms != y->off_ms) {
        return x->off_ms < y->off_ms ? -1 : 1;
    }
    return (int)x->kind - (int)y->kind;
}

/* The live moments of a session: a good coach asks more than they tell,
 * lets the rep assess themselves early, asks for evidence, praises, takes
 * over rarely and ends with agreed actions. */
static void demo_session_moments(struct demo_session *s, struct demo_rng *r, double qn)
{
    demo_moments(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION, 0.2 + 0.5 * qn, 0.0,
                 1.0);
    demo_moments(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE, 0.5 - 0.4 * qn, 0.0, 1.0);
    demo_moments(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_EVIDENCE_ASKED, 0.02 + 0.12 * qn, 0.05,
                 0.9);
    demo_moments(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE, 0.02 + 0.08 * qn, 0.1, 1.0);
    demo_moments(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_MANAGER_TOOK_OVER,
                 0.08 * (1.0 - qn) * (1.0 - qn), 0.2, 1.0);
    if (demo_chance(r, 0.2 + 0.7 * qn)) {
        /* The better the coach, the earlier the rep assesses themselves. */
        demo_moment_add(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, 0.02,
                        0.1 + 0.6 * (1.0 - qn));
    }
    {
        int n = (int)(demo_range(r, 0.0, 1.2) + 2.0 * qn);

        for (int i = 0; i < n; i++) {
            demo_moment_add(s, r, COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED, 0.8, 1.0);
        }
    }
    qsort(s->moments, s->n_moments, sizeof(s->moments[0]), demo_moment_cmp);
}

static Coachq__V1__CoachingFocus demo_focus(struct demo_rng *r, Coachq__V1__SessionType t)
{
    double u = demo_unit(r);

    switch (t) {
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_SKILL_PRACTICE:
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW:
        return u < 0.82   ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL
               : u < 0.95 ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS
                          : COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN:
        return u < 0.75  ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN
               : u < 0.9 ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS
                         : COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    default:
        return u < 0.65   ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS
               : u < 0.93 ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL
                          : COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN;
    }
}

/* Session length in minutes by type: [lo, hi]. */
static void demo_minutes(Coachq__V1__SessionType t, int busy, int *lo, int *hi)
{
    switch (t) {
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN:
        *lo = 20;
        *hi = 35;
        break;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_SKILL_PRACTICE:
        *lo = 25;
        *hi = 50;
        break;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_ACCOUNT_PLAN:
        *lo = 40;
        *hi = 60;
        break;
    default:
        *lo = 30;
        *hi = 60;
        break;
    }
    if (busy) {
        /* Many short sessions. */
        *hi = *lo + 10;
        *lo = 20;
    }
}

/* Returns v grown to hold need items of size (at most max), or NULL with
 * *rc set to -E2BIG or -ENOMEM (v is then unchanged). */
static void *demo_grow(void *v, size_t *cap, size_t need, size_t size, size_t max, int *rc)
{
    size_t cap2;
    void *p;

    *rc = 0;
    if (need <= *cap) {
        return v;
    }
    if (need > max) {
        *rc = -E2BIG;
        return NULL;
    }
    cap2 = *cap == 0 ? 256 : *cap * 2;
    if (cap2 < need) {
        cap2 = need;
    }
    if (cap2 > max) {
        cap2 = max;
    }
    p = realloc(v, cap2 * size);
    if (p == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    *cap = cap2;
    return p;
}

/* Queues the record of observer for session si, submitted delay after the
 * session ended; dropped when that is after now. */
static int demo_add_record(struct demo *d, struct demo_rng *r, uint32_t si, int observer,
                           int second)
{
    const struct demo_session *s = &d->sess[si];
    struct demo_record *rec;
    double u = demo_unit(r);
    int64_t delay_s;
    int64_t received_ms;
    int rc;

    /* Most observers submit within the hour, some later that day, a few
     * the next day. */
    if (u < 0.7) {
        delay_s = 300 + (int64_t)demo_below(r, 3300);
    } else if (u < 0.95) {
        delay_s = 3600 + (int64_t)demo_below(r, 4 * 3600);
    } else {
        delay_s = 16 * 3600 + (int64_t)demo_below(r, 8 * 3600);
    }
    received_ms =
        (s->started_at + (int64_t)s->duration_s + delay_s) * 1000 + (int64_t)demo_below(r, 1000);
    if (received_ms > d->now_ms) {
        return 0;
    }
    rec = demo_grow(d->rec, &d->cap_rec, d->n_rec + 1, sizeof(*d->rec), DEMO_MAX_RECORDS, &rc);
    if (rec == NULL) {
        return rc;
    }
    d->rec = rec;
    rec = &d->rec[d->n_rec++];
    rec->received_ms = received_ms;
    rec->session = si;
    rec->observer = (uint8_t)observer;
    rec->second = (uint8_t)second;
    rec->noise = demo_next(r);
    demo_uuid(r, rec->id);
    return 0;
}

/* One session of manager fi on day; the records of its observers. */
static int demo_add_session(struct demo *d, struct demo_rng *r, int fi, int32_t day)
{
    static const Coachq__V1__SessionType cc_types[] = {
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PIPELINE_REVIEW,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PIPELINE_REVIEW,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_ACCOUNT_PLAN,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_SKILL_PRACTICE,
        COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN,
    };
    const struct demo_flm *f = &d->flm[fi];
    const Coachq__V1__Rubric *rb;
    struct demo_session *s;
    int reps[DEMO_REPS];
    int n_reps = 0;
    int lo, hi;
    double sum = 0.0, day_form;
    size_t scored = 0;
    uint32_t si;
    int observer;
    int rc;

    for (int i = DEMO_P_REP; i < DEMO_PEOPLE; i++) {
        if (demo_manager_on(d, i, day) == f->person) {
            reps[n_reps++] = i;
        }
    }
    if (n_reps == 0) {
        return 0;
    }
    s = demo_grow(d->sess, &d->cap_sess, d->n_sess + 1, sizeof(*d->sess), DEMO_MAX_RECORDS, &rc);
    if (s == NULL) {
        return rc;
    }
    d->sess = s;
    si = (uint32_t)d->n_sess++;
    s = &d->sess[si];
    memset(s, 0, sizeof(*s));
    s->flm = fi;
    s->rep = reps[demo_below(r, (uint32_t)n_reps)];
    s->rubric = demo_chance(r, f->call_review) ? DEMO_RUBRIC_CR : DEMO_RUBRIC_CC;
    s->type = s->rubric == DEMO_RUBRIC_CR
                  ? COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW
                  : cc_types[demo_below(r, sizeof(cc_types) / sizeof(cc_types[0]))];
    s->focus = demo_focus(r, s->type);
    demo_minutes(s->type, f->busy, &lo, &hi);
    s->duration_s =
        (uint32_t)(lo + (int)demo_below(r, (uint32_t)(hi - lo + 1))) * 60u + demo_below(r, 60);
    s->started_at =
        (int64_t)day * DEMO_DAY_S +
        (int64_t)(DEMO_FIRST_SESSION_MIN +
                  15 * (int)demo_below(r,
                                       (DEMO_LAST_SESSION_MIN - DEMO_FIRST_SESSION_MIN) / 15 + 1)) *
            60;
    for (int k = 0; k < 3; k++) {
        s->topic[k] = (uint8_t)demo_below(r, 240);
    }

    /* The truth of this session: the manager's quality that day, a good or
     * bad day overall, and each behaviour's own variation. */
    rb = d->rubric[s->rubric];
    day_form = 0.25 * demo_gauss(r) - (f->busy ? 0.15 : 0.0);
    for (size_t b = 0; b < rb->n_behaviours && b < DEMO_MAX_BEH; b++) {
        double q = demo_quality(d, f, s->rubric, b, day) + day_form + 0.3 * demo_gauss(r);

        s->truth[b] = (float)q;
        s->na[b] = demo_chance(r, demo_na_chance(rb->behaviours[b], s->type)) ? 1 : 0;
        if (!s->na[b]) {
            sum += demo_clamp(q, 1.0, 4.0);
            scored++;
        }
    }
    demo_session_moments(s, r, scored > 0 ? (sum / (double)scored - 1.0) / 3.0 : 0.5);
    for (uint16_t i = 0; i < s->n_moments && s->n_actions < DEMO_MAX_ACTIONS; i++) {
        if (s->moments[i].kind == COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED) {
            s->action[s->n_actions] =
                (uint8_t)demo_below(r, sizeof(demo_action_texts) / sizeof(demo_action_texts[0]));
            s->due[s->n_actions] = day + 5 + (int32_t)demo_below(r, 12);
            s->n_actions++;
        }
    }

    /* Mostly the manager's usual observer; sometimes a colleague; about
     * one session in twenty is double-coded for reliability. */
    observer = f->observer;
    if (demo_chance(r, 0.2)) {
        observer = (observer + 1 + (int)demo_below(r, DEMO_OBSERVERS - 1)) % DEMO_OBSERVERS;
    }
    rc = demo_add_record(d, r, si, observer, 0);
    if (rc == 0 && demo_chance(r, 0.06)) {
        int other = (observer + 1 + (int)demo_below(r, DEMO_OBSERVERS - 1)) % DEMO_OBSERVERS;

        rc = demo_add_record(d, r, si, other, 1);
    }
    return rc;
}

static int demo_record_cmp(const void *a, const void *b)
{
    const struct demo_record *x = a;
    const struct demo_record *y = b;

    if (x->received_ms != y->received_ms) {
        return x->received_ms < y->received_ms ? -1 : 1;
    }
    return memcmp(x->id, y->id, sizeof(x->id));
}

/* A year of sessions for every manager, in the order they reach the
 * server. */
static int demo_plan_sessions(struct demo *d)
{
    int rc = 0;

    for (int fi = 0; fi < DEMO_FLMS && rc == 0; fi++) {
        struct demo_rng r;

        demo_fork(&r, d->seed, DEMO_S_SESSIONS, (uint64_t)fi);
        for (int m = 0; m < 12 && rc == 0; m++) {
            int32_t d0 = d->start_day + m * DEMO_WINDOW_DAYS / 12;
            int32_t d1 = d->start_day + (m + 1) * DEMO_WINDOW_DAYS / 12;
            int n = (int)(d->flm[fi].rate + 0.6 * demo_gauss(&r) + 0.5);

            for (int k = 0; k < n && rc == 0; k++) {
                int32_t day = demo_weekday(d0 + (int32_t)demo_below(&r, (uint32_t)(d1 - d0)));

                if (day <= d->now_day) {
                    rc = demo_add_session(d, &r, fi, day);
                }
            }
        }
    }
    if (rc == 0 && d->n_rec > 0) {
        qsort(d->rec, d->n_rec, sizeof(d->rec[0]), demo_record_cmp);
    }
    return rc;
}

/* ---- Building observations ---------------------------------------------- */

static const struct demo_phrases *demo_phrases_of(const char *id)
{
    for (size_t i = 0; i < sizeof(demo_evidence) / sizeof(demo_evidence[0]); i++) {
        if (strcmp(demo_evidence[i].id, id) == 0) {
            return &demo_evidence[i];
        }
    }
    return NULL;
}

/* Writes an evidence note for a rating of b into out. */
static void demo_evidence_note(char *out, size_t len, struct demo_rng *r,
                               const Coachq__V1__Behaviour *b, uint32_t score, uint32_t minute)
{
    const struct demo_phrases *ph = demo_phrases_of(b->id);
    int pick = (int)demo_below(r, 2);
    const char *text;

    if (score >= 3) {
        text = ph != NULL ? ph->good[pick] : demo_generic_good[pick];
    } else {
        text = ph != NULL ? ph->poor[pick] : demo_generic_poor[pick];
    }
    if (minute > 0 && demo_chance(r, 0.5)) {
        snprintf(out, len, "Minute %u: %s", (unsigned)minute, text);
    } else {
        snprintf(out, len, "%s", text);
    }
}

static uint32_t demo_score_of(double v)
{
    return (uint32_t)(demo_clamp(v, 1.0, 4.0) + 0.5);
}

/* Sets the observation's common fields and rating array. */
static void demo_obs_reset(struct demo_obsbuf *ob)
{
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;

    ob->o = o;
    ob->o.id.data = ob->id;
    ob->o.id.len = sizeof(ob->id);
    ob->o.ratings = ob->rp;
    ob->o.markers = ob->mp;
    ob->o.actions = ob->ap;
    ob->notes[0] = '\0';
    ob->o.notes = ob->notes;
}

/* The session notes an observer writes. */
static void demo_session_notes(const struct demo_session *s, char *out, size_t len)
{
    const char *acc =
        demo_accounts[s->topic[0] % (sizeof(demo_accounts) / sizeof(demo_accounts[0]))];

    switch (s->type) {
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW:
        snprintf(out, len, "Deal review: %s %s, %s stage.", acc, demo_deal_kinds[s->topic[1] % 4],
                 demo_stages[s->topic[2] % 4]);
        break;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PIPELINE_REVIEW:
        snprintf(out, len,
                 "Pipeline review before the forecast call; %u open deals, %s the largest.",
                 (unsigned)(4 + s->topic[1] % 9), acc);
        break;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_ACCOUNT_PLAN:
        snprintf(out, len, "Account plan for %s: stakeholder map and whitespace.", acc);
        break;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_SKILL_PRACTICE:
        snprintf(out, len, "Role-play: %s.",
                 demo_skills[s->topic[1] % (sizeof(demo_skills) / sizeof(demo_skills[0]))]);
        break;
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN:
        snprintf(out, len, "Check-in: %s.",
                 demo_human[s->topic[1] % (sizeof(demo_human) / sizeof(demo_human[0]))]);
        break;
    default:
        snprintf(out, len, "Reviewed %u recorded calls, the main one with %s (%s).",
                 (unsigned)(1 + s->topic[1] % 3), acc, demo_stages[s->topic[2] % 4]);
        break;
    }
}

/* Builds observer's record rec of its session into d->ob. */
static void demo_build_record(struct demo *d, const struct demo_record *rec)
{
    const struct demo_session *s = &d->sess[rec->session];
    const Coachq__V1__Rubric *rb = d->rubric[s->rubric];
    struct demo_obsbuf *ob = &d->ob;
    struct demo_rng r = {rec->noise};
    double sev = d->severity[rec->observer];
    size_t n = 0;

    demo_obs_reset(ob);
    memcpy(ob->id, rec->id, sizeof(ob->id));
    /* protobuf-c's fields are not const; pack only reads them. */
    ob->o.rubric_id = rb->id;
    ob->o.rubric_version = rb->version;
    ob->o.coach_id = d->people[d->flm[s->flm].person].id;
    ob->o.coachee_id = d->people[s->rep].id;
    ob->o.session_type = s->type;
    ob->o.focus = s->focus;
    ob->o.started_at = s->started_at;
    ob->o.duration_s = s->duration_s;

    for (size_t b = 0; b < rb->n_behaviours && b < DEMO_MAX_BEH; b++) {
        Coachq__V1__Rating rt = COACHQ__V1__RATING__INIT;
        uint32_t minute = 1 + demo_below(&r, s->duration_s / 60u);

        ob->evidence[b][0] = '\0';
        rt.behaviour_id = rb->behaviours[b]->id;
        rt.evidence = ob->evidence[b];
        if (s->na[b]) {
            rt.not_applicable = 1;
        } else {
            rt.score = demo_score_of((double)s->truth[b] + sev + 0.2 * demo_gauss(&r));
            if (rubrics_needs_evidence(rb, rt.score) || demo_chance(&r, 0.2)) {
                demo_evidence_note(ob->evidence[b], sizeof(ob->evidence[b]), &r, rb->behaviours[b],
                                   rt.score, minute);
            }
        }
        ob->r[b] = rt;
        ob->rp[b] = &ob->r[b];
    }
    ob->o.n_ratings = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;

    /* A second coder taps the same moments a little earlier or later, and
     * misses a few. */
    for (uint16_t i = 0; i < s->n_moments; i++) {
        Coachq__V1__Marker mk = COACHQ__V1__MARKER__INIT;
        int64_t off = s->moments[i].off_ms;

        if (rec->second) {
            if (demo_chance(&r, 0.08)) {
                continue;
            }
            off += (int64_t)demo_below(&r, 4001) - 2000;
            off = off < 0 ? 0 : off;
            if (off >= (int64_t)s->duration_s * 1000) {
                off = (int64_t)s->duration_s * 1000 - 1;
            }
        }
        mk.kind = (Coachq__V1__MarkerKind)s->moments[i].kind;
        mk.offset_ms = (uint32_t)off;
        if (s->moments[i].noted &&
            s->moments[i].kind < sizeof(demo_marker_notes) / sizeof(demo_marker_notes[0]) &&
            demo_marker_notes[s->moments[i].kind] != NULL) {
            mk.note = (char *)demo_marker_notes[s->moments[i].kind];
        }
        ob->m[n] = mk;
        ob->mp[n] = &ob->m[n];
        n++;
    }
    ob->o.n_markers = n;

    for (uint8_t i = 0; i < s->n_actions; i++) {
        Coachq__V1__Action ac = COACHQ__V1__ACTION__INIT;

        ac.text = (char *)demo_action_texts[s->action[i]];
        ac.owner_id = d->people[s->rep].id;
        ac.due_day = (uint32_t)s->due[i];
        ob->a[i] = ac;
        ob->ap[i] = &ob->a[i];
    }
    ob->o.n_actions = s->n_actions;
    demo_session_notes(s, ob->notes, sizeof(ob->notes));
}

/* Builds observer's attempt at reference j of rubric ri (calibration round
 * round) into d->ob. It agrees with the masters but for one rating, one
 * point off. */
static void demo_build_attempt(struct demo *d, int round, int observer, int ri, int j)
{
    const Coachq__V1__Rubric *rb = d->rubric[ri];
    const uint8_t *master = d->master[ri][j];
    struct demo_obsbuf *ob = &d->ob;
    struct demo_rng r;
    size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;
    size_t scored = 0, off_b, pick;

    demo_fork(
        &r, d->seed, DEMO_S_CALIB,
        (uint64_t)(((round * DEMO_OBSERVERS + observer) * DEMO_RUBRICS + ri) * DEMO_REFS + j));
    demo_obs_reset(ob);
    demo_uuid(&r, ob->id);
    memcpy(ob->ref, d->ref_id[ri][j], sizeof(ob->ref));
    ob->o.calibration_ref.data = ob->ref;
    ob->o.calibration_ref.len = sizeof(ob->ref);
    ob->o.rubric_id = rb->id;
    ob->o.rubric_version = rb->version;
    ob->o.coach_id = d->people[d->ref_coach[ri][j]].id;
    ob->o.coachee_id = d->people[d->ref_rep[ri][j]].id;
    ob->o.session_type = ri == DEMO_RUBRIC_CR ? COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW
                                              : COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    ob->o.focus = ri == DEMO_RUBRIC_CR ? COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL
                                       : COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS;
    ob->o.started_at = d->ref_recorded[ri][j];
    ob->o.duration_s = 35 * 60;
    snprintf(ob->notes, sizeof(ob->notes), "Calibration: scored reference recording %d of '%s'.",
             j + 1, rb->id);

    for (size_t b = 0; b < nb; b++) {
        scored += master[b] != 0;
    }
    /* The one rating off by a point: the observer's severity decides the
     * direction where both are possible. */
    pick = scored > 0 ? demo_below(&r, (uint32_t)scored) : 0;
    off_b = nb;
    for (size_t b = 0; b < nb; b++) {
        if (master[b] != 0 && pick-- == 0) {
            off_b = b;
            break;
        }
    }
    for (size_t b = 0; b < nb; b++) {
        Coachq__V1__Rating rt = COACHQ__V1__RATING__INIT;

        ob->evidence[b][0] = '\0';
        rt.behaviour_id = rb->behaviours[b]->id;
        rt.evidence = ob->evidence[b];
        if (master[b] == 0) {
            rt.not_applicable = 1;
        } else {
            rt.score = master[b];
            if (b == off_b) {
                if (rt.score == 1 || (rt.score < 4 && d->severity[observer] >= 0.0)) {
                    rt.score++;
                } else {
                    rt.score--;
                }
            }
            if (rubrics_needs_evidence(rb, rt.score) || demo_chance(&r, 0.3)) {
                demo_evidence_note(ob->evidence[b], sizeof(ob->evidence[b]), &r, rb->behaviours[b],
                                   rt.score, 0);
            }
        }
        ob->r[b] = rt;
        ob->rp[b] = &ob->r[b];
    }
    ob->o.n_ratings = nb;
}

/* ---- Submitting ---------------------------------------------------------- */

/* Takes a completed request's outcome into the counters. */
static void demo_tally(struct demo *d, const struct store_write *w, int calib)
{
    if (w->rc == 0 && w->result == STORE_STORED) {
        if (calib) {
            d->calibrations++;
        } else {
            d->stored++;
        }
        return;
    }
    if (w->rc == ERROR_REFUSED || w->rc == -EEXIST || w->rc == -EINVAL ||
        (w->rc == 0 && w->result != STORE_STORED)) {
        d->refused++;
        if (d->refused <= DEMO_MAX_FAULTS_SHOWN) {
            demo_say(d, "the rules refused a generated %s by %s: %s: %s",
                     calib ? "calibration attempt" : "observation", w->observer_id,
                     w->rc == ERROR_REFUSED ? w->fault.field : "observation",
                     w->rc == ERROR_REFUSED ? w->fault.message
                     : w->rc == 0           ? "already stored"
                                            : error_strerror(w->rc));
        }
        return;
    }
    if (d->fatal == 0) {
        d->fatal = w->rc;
    }
}

/* Submits the batch, waits for its commit and takes the outcomes. */
static int demo_flush(struct demo *d)
{
    size_t submitted = 0, got = 0;
    int rc = 0;

    for (size_t i = 0; i < d->n_batch; i++) {
        rc = store_submit(d->s, &d->batch[i]);
        if (rc != 0) {
            break;
        }
        submitted++;
    }
    if (submitted > 0) {
        store_drain(d->s);
        for (struct store_write *w = store_completed_take(d->s); w != NULL; w = w->next) {
            const int *calib = w->user;

            got++;
            demo_tally(d, w, calib != NULL && *calib);
        }
    }
    for (size_t i = 0; i < d->n_batch; i++) {
        free(d->buf[i]);
        d->buf[i] = NULL;
    }
    d->n_batch = 0;
    if (rc == 0 && got != submitted) {
        rc = -EIO;
    }
    if (rc == 0) {
        rc = d->fatal;
    }
    if (rc != 0) {
        demo_say(d, "the store did not take the observations: %s", error_strerror(rc));
    }
    return rc;
}

/* Checks, packs and queues d->ob as observer's submission at received_ms,
 * the way the server does with a client's; flushes a full batch. */
static int demo_queue(struct demo *d, int observer, int64_t received_ms, int calib)
{
    struct validate_error err;
    struct store_write *w;
    size_t n;

    if (validate_observation(&d->ob.o, "observation", &err) != 0) {
        d->refused++;
        if (d->refused <= DEMO_MAX_FAULTS_SHOWN) {
            demo_say(d, "a generated observation is malformed: %s: %s", err.field, err.message);
        }
        return 0;
    }
    n = coachq__v1__observation__get_packed_size(&d->ob.o);
    d->buf[d->n_batch] = malloc(n > 0 ? n : 1);
    if (d->buf[d->n_batch] == NULL) {
        return -ENOMEM;
    }
    coachq__v1__observation__pack(&d->ob.o, d->buf[d->n_batch]);
    w = &d->batch[d->n_batch];
    memset(w, 0, sizeof(*w));
    w->obs = d->buf[d->n_batch];
    w->obs_len = n;
    w->observer_id = d->people[DEMO_P_OBS + observer].id;
    w->origin = DEMO_ORIGIN;
    w->received_at_ms = received_ms;
    d->calib[d->n_batch] = calib;
    w->user = &d->calib[d->n_batch];
    d->n_batch++;
    return d->n_batch == DEMO_BATCH ? demo_flush(d) : 0;
}

/* ---- Transactions ------------------------------------------------------- */

static int demo_audit(struct store_txn *t, int64_t at_ms, const char *action, const char *subject,
                      const char *detail)
{
    return audit_append(t, at_ms, DEMO_ACTOR, action, subject, detail, DEMO_ORIGIN, NULL);
}

struct demo_people_found {
    int any;
};

static int demo_people_any_cb(const Coachq__V1__Person *p, void *arg)
{
    struct demo_people_found *f = arg;

    (void)p;
    f->any = 1;
    return 1;
}

/* What the demo needs to know before it writes anything. */
struct demo_check {
    struct demo *d;
    int has_people;
    int missing; /* index of a missing rubric + 1 */
};

static const char *const demo_rubric_ids[DEMO_RUBRICS] = {"coaching-conversation", "call-review"};

static int demo_check_txn(struct store_txn *t, void *arg)
{
    struct demo_check *c = arg;
    struct demo_people_found f = {0};
    int rc;

    c->has_people = 0;
    c->missing = 0;
    rc = people_list(t, demo_people_any_cb, &f);
    if (rc < 0) {
        return rc;
    }
    c->has_people = f.any;
    for (int i = 0; i < DEMO_RUBRICS; i++) {
        coachq__v1__rubric__free_unpacked(c->d->rubric[i], NULL);
        c->d->rubric[i] = NULL;
        rc = rubrics_get(t, demo_rubric_ids[i], 0, &c->d->rubric[i]);
        if (rc == -ENOENT) {
            c->missing = i + 1;
            return 0;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static const char *demo_roles_str(enum demo_kind k)
{
    switch (k) {
    case DEMO_K_LEAD:
        return "enablement_lead,administrator";
    case DEMO_K_OBSERVER:
        return "observer";
    case DEMO_K_SLM:
        return "second_level_manager";
    case DEMO_K_FLM:
        return "front_line_manager";
    default:
        return "rep";
    }
}

/* The organisation as imported before the year: every person, their line
 * and the programme, in one transaction like an import. */
static int demo_setup_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    char detail[256];
    char ds[16];
    int rc;

    demo_day_str(d->org_day, ds);
    for (int i = 0; i < DEMO_PEOPLE; i++) {
        const struct demo_person *dp = &d->people[i];
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        Coachq__V1__Role roles[2];

        /* protobuf-c's fields are not const; pack only reads them. */
        p.id = (char *)dp->id;
        p.name = (char *)dp->name;
        p.email = (char *)dp->email;
        p.updated_at_ms = d->setup_ms;
        p.roles = roles;
        switch (dp->kind) {
        case DEMO_K_LEAD:
            roles[0] = COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD;
            roles[1] = COACHQ__V1__ROLE__ROLE_ADMINISTRATOR;
            p.n_roles = 2;
            break;
        case DEMO_K_OBSERVER:
            roles[0] = COACHQ__V1__ROLE__ROLE_OBSERVER;
            p.n_roles = 1;
            break;
        case DEMO_K_SLM:
            roles[0] = COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER;
            p.n_roles = 1;
            break;
        case DEMO_K_FLM:
            roles[0] = COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER;
            p.n_roles = 1;
            break;
        default:
            p.n_roles = 0;
            break;
        }
        rc = people_put(t, &p, NULL);
        if (rc != 0) {
            return rc;
        }
        if (dp->manager >= 0) {
            rc = people_line_put(t, dp->id, d->people[dp->manager].id, d->org_day, NULL);
            if (rc != 0) {
                return rc;
            }
            snprintf(detail, sizeof(detail), "name=\"%s\" roles=%s manager=%s from %s", dp->name,
                     demo_roles_str(dp->kind), d->people[dp->manager].id, ds);
        } else {
            snprintf(detail, sizeof(detail), "name=\"%s\" roles=%s", dp->name,
                     demo_roles_str(dp->kind));
        }
        rc = demo_audit(t, d->setup_ms, "user.add", dp->id, detail);
        if (rc != 0) {
            return rc;
        }
    }
    prog.id = (char *)DEMO_PROGRAMME;
    prog.name = (char *)"Coaching skills for front-line managers";
    rc = people_programme_put(t, &prog, NULL);
    if (rc != 0) {
        return rc;
    }
    return demo_audit(t, d->setup_ms, "programme.add", DEMO_PROGRAMME, prog.name);
}

/* The reference sessions' master scores: one strong session (mostly 3 and
 * 4) and one weak (mostly 1 and 2) per rubric, so that the scores spread
 * over the whole scale and kappa measures agreement, not chance. */
static void demo_plan_references(struct demo *d)
{
    struct demo_rng r;

    demo_fork(&r, d->seed, DEMO_S_REFS, 0);
    for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
        const Coachq__V1__Rubric *rb = d->rubric[ri];
        size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;
        int32_t recorded_day = d->start_day - DEMO_RECORDED_DAYS_BEFORE;

        for (int j = 0; j < DEMO_REFS; j++) {
            size_t odd = demo_below(&r, (uint32_t)nb);
            int na_done = 0;
            int f = (int)demo_below(&r, DEMO_FLMS);

            demo_uuid(&r, d->ref_id[ri][j]);
            d->ref_coach[ri][j] = DEMO_P_FLM + f;
            d->ref_rep[ri][j] = DEMO_P_REP;
            for (int i = DEMO_P_REP; i < DEMO_PEOPLE; i++) {
                if (d->people[i].manager == DEMO_P_FLM + f) {
                    d->ref_rep[ri][j] = i;
                    break;
                }
            }
            d->ref_recorded[ri][j] =
                (int64_t)(recorded_day - 7 * j) * DEMO_DAY_S + 10 * DEMO_HOUR_S;
            for (size_t b = 0; b < nb; b++) {
                uint8_t sc;

                if (j == 0) {
                    sc = demo_chance(&r, 0.4) ? 4 : 3;
                    sc = b == odd ? 2 : sc;
                } else {
                    sc = demo_chance(&r, 0.4) ? 1 : 2;
                    sc = b == odd ? 3 : sc;
                    if (b != odd && !na_done && rb->behaviours[b]->allow_not_applicable) {
                        sc = 0;
                        na_done = 1;
                    }
                }
                d->master[ri][j][b] = sc;
            }
        }
    }
}

static int demo_refs_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    static const char *const titles[DEMO_RUBRICS][DEMO_REFS] = {
        {"Recorded deal review: a renewal at risk", "Recorded pipeline review: quarter-end push"},
        {"Call review: discovery call with a new prospect",
         "Call review: price objection on a follow-up call"},
    };
    int64_t at_ms =
        ((int64_t)(d->start_day - DEMO_REGISTERED_DAYS_BEFORE) * DEMO_DAY_S + 11 * DEMO_HOUR_S) *
        1000;
    char idstr[40];
    char detail[200];
    int rc;

    for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
        const Coachq__V1__Rubric *rb = d->rubric[ri];
        size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;

        for (int j = 0; j < DEMO_REFS; j++) {
            Coachq__V1__CalibrationReference ref = COACHQ__V1__CALIBRATION_REFERENCE__INIT;
            Coachq__V1__Rating m[DEMO_MAX_BEH];
            Coachq__V1__Rating *mp[DEMO_MAX_BEH];
            char ev[DEMO_MAX_BEH][200];
            struct demo_rng r;

            demo_fork(&r, d->seed, DEMO_S_REFS, (uint64_t)(1 + ri * DEMO_REFS + j));
            for (size_t b = 0; b < nb; b++) {
                Coachq__V1__Rating rt = COACHQ__V1__RATING__INIT;
                uint8_t sc = d->master[ri][j][b];

                ev[b][0] = '\0';
                rt.behaviour_id = rb->behaviours[b]->id;
                rt.evidence = ev[b];
                if (sc == 0) {
                    rt.not_applicable = 1;
                } else {
                    rt.score = sc;
                    demo_evidence_note(ev[b], sizeof(ev[b]), &r, rb->behaviours[b], sc, 0);
                }
                m[b] = rt;
                mp[b] = &m[b];
            }
            ref.id.data = d->ref_id[ri][j];
            ref.id.len = 16;
            ref.rubric_id = rb->id;
            ref.rubric_version = rb->version;
            ref.title = (char *)titles[ri][j];
            ref.master = mp;
            ref.n_master = nb;
            ref.registered_by = d->people[DEMO_P_LEAD].id;
            ref.registered_at_ms = at_ms;
            rc = certs_reference_put(t, &ref);
            if (rc != 0) {
                return rc;
            }
            snprintf(idstr, sizeof(idstr),
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     d->ref_id[ri][j][0], d->ref_id[ri][j][1], d->ref_id[ri][j][2],
                     d->ref_id[ri][j][3], d->ref_id[ri][j][4], d->ref_id[ri][j][5],
                     d->ref_id[ri][j][6], d->ref_id[ri][j][7], d->ref_id[ri][j][8],
                     d->ref_id[ri][j][9], d->ref_id[ri][j][10], d->ref_id[ri][j][11],
                     d->ref_id[ri][j][12], d->ref_id[ri][j][13], d->ref_id[ri][j][14],
                     d->ref_id[ri][j][15]);
            snprintf(detail, sizeof(detail), "rubric=%s@%u title=%.100s registered_by=%s", rb->id,
                     (unsigned)rb->version, ref.title, ref.registered_by);
            rc = demo_audit(t, at_ms, "calibration.reference.add", idstr, detail);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

struct demo_event_ctx {
    struct demo *d;
    const struct demo_event *ev;
};

/* A line change: a rep's transfer, or a manager's move to another
 * second-level manager. */
static int demo_line_txn(struct store_txn *t, void *arg)
{
    struct demo_event_ctx *c = arg;
    const struct demo_person *p = &c->d->people[c->ev->a];
    const struct demo_person *m = &c->d->people[c->ev->b];
    const struct demo_person *old = &c->d->people[p->manager];
    char detail[200];
    char ds[16];
    int rc;

    rc = people_line_put(t, p->id, m->id, c->ev->day, NULL);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail), "manager=%s from %s (was %s)", m->id,
             demo_day_str(c->ev->day, ds), old->id);
    return demo_audit(t, c->ev->at_ms, "line.set", p->id, detail);
}

/* A cohort's enrolments: at its start (nothing attended yet), or at its
 * end with the modules attended and the completion day. */
static int demo_enrol_txn(struct store_txn *t, void *arg)
{
    struct demo_event_ctx *c = arg;
    struct demo *d = c->d;
    int cohort = c->ev->a;
    int done = c->ev->kind == DEMO_EV_COMPLETE;
    char detail[200];
    char ds[16];
    int rc;

    for (int fi = 0; fi < DEMO_FLMS; fi++) {
        const struct demo_flm *f = &d->flm[fi];
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
        Coachq__V1__Attendance at[DEMO_MODULES];
        Coachq__V1__Attendance *atp[DEMO_MODULES];

        if (f->cohort != cohort) {
            continue;
        }
        e.programme_id = (char *)DEMO_PROGRAMME;
        e.cohort_id = d->cohort_id[cohort];
        e.cohort_start_day = d->cohort_day[cohort];
        e.person_id = d->people[f->person].id;
        if (done) {
            for (int m = 0; m < f->n_attended; m++) {
                Coachq__V1__Attendance a = COACHQ__V1__ATTENDANCE__INIT;

                a.module = (char *)demo_modules[m];
                a.day = f->attended[m];
                at[m] = a;
                atp[m] = &at[m];
            }
            e.attended = atp;
            e.n_attended = (size_t)f->n_attended;
            e.completed_day = f->completed_day;
        }
        rc = people_enrolment_put(t, &e, NULL);
        if (rc != 0) {
            return rc;
        }
        if (done && f->completed_day > 0) {
            snprintf(detail, sizeof(detail), "programme=%s cohort=%s completed %s", DEMO_PROGRAMME,
                     e.cohort_id, demo_day_str(f->completed_day, ds));
        } else if (done) {
            snprintf(detail, sizeof(detail), "programme=%s cohort=%s attended %d of %d modules",
                     DEMO_PROGRAMME, e.cohort_id, f->n_attended, DEMO_MODULES);
        } else {
            snprintf(detail, sizeof(detail), "programme=%s cohort=%s starts %s", DEMO_PROGRAMME,
                     e.cohort_id, demo_day_str(e.cohort_start_day, ds));
        }
        rc = demo_audit(t, c->ev->at_ms, done ? "programme.complete" : "programme.enrol",
                        e.person_id, detail);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Whether every observer is certified for every rubric on day. */
struct demo_certs_check {
    struct demo *d;
    int32_t day;
    int observer; /* the first one not certified, or -1 */
    int rubric;
    char reason[200];
    unsigned certified; /* observers certified for every rubric */
};

static int demo_last_result_cb(const Coachq__V1__CalibrationResult *res, void *arg)
{
    struct demo_certs_check *c = arg;

    if (strcmp(res->rubric_id, demo_rubric_ids[c->rubric]) == 0) {
        snprintf(c->reason, sizeof(c->reason), "%s", res->reason);
    }
    return 0;
}

static int demo_certs_txn(struct store_txn *t, void *arg)
{
    struct demo_certs_check *c = arg;
    int rc = 0;

    c->observer = -1;
    c->certified = 0;
    c->reason[0] = '\0';
    for (int o = 0; o < DEMO_OBSERVERS; o++) {
        int all = 1;

        for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
            Coachq__V1__Certification *cert = NULL;
            const char *id = c->d->people[DEMO_P_OBS + o].id;

            rc = certs_valid_on(t, id, demo_rubric_ids[ri], c->day, &cert, NULL);
            coachq__v1__certification__free_unpacked(cert, NULL);
            if (rc == -ENOENT) {
                all = 0;
                rc = 0;
                if (c->observer < 0) {
                    c->observer = o;
                    c->rubric = ri;
                    rc = certs_results(t, id, demo_last_result_cb, c);
                }
            }
            if (rc != 0) {
                return rc;
            }
        }
        c->certified += (unsigned)all;
    }
    return 0;
}

/* A calibration round: every observer scores every reference of every
 * rubric, then each must hold a certification from that day. */
static int demo_calibrate(struct demo *d, const struct demo_event *ev)
{
    struct demo_certs_check cc;
    char ds[16];
    int64_t at = ev->at_ms;
    int rc = 0;

    for (int o = 0; o < DEMO_OBSERVERS && rc == 0; o++) {
        for (int ri = 0; ri < DEMO_RUBRICS && rc == 0; ri++) {
            for (int j = 0; j < DEMO_REFS && rc == 0; j++) {
                demo_build_attempt(d, ev->a, o, ri, j);
                rc = demo_queue(d, o, at < d->now_ms ? at : d->now_ms, 1);
                at += 3 * 60 * 1000;
            }
        }
    }
    if (rc == 0) {
        rc = demo_flush(d);
    }
    if (rc != 0 || !d->policy.enforce) {
        return rc;
    }
    memset(&cc, 0, sizeof(cc));
    cc.d = d;
    cc.day = ev->day;
    rc = store_view(d->s, demo_certs_txn, &cc);
    if (rc != 0) {
        demo_say(d, "reading the certifications failed: %s", error_strerror(rc));
        return rc;
    }
    if (cc.observer >= 0) {
        demo_say(d,
                 "observer %s failed calibration for '%s' on %s (%s): the generated attempts "
                 "should agree with the masters",
                 d->people[DEMO_P_OBS + cc.observer].id, demo_rubric_ids[cc.rubric],
                 demo_day_str(ev->day, ds), cc.reason[0] ? cc.reason : "no result");
        return -EPROTO;
    }
    return 0;
}

static int demo_event_cmp(const void *a, const void *b)
{
    const struct demo_event *x = a;
    const struct demo_event *y = b;

    if (x->at_ms != y->at_ms) {
        return x->at_ms < y->at_ms ? -1 : 1;
    }
    if (x->kind != y->kind) {
        return (int)x->kind - (int)y->kind;
    }
    return x->a - y->a;
}

static void demo_event_add(struct demo *d, enum demo_event_kind kind, int a, int b, int32_t day,
                           int hour)
{
    struct demo_event *e;
    int64_t at_ms = ((int64_t)day * DEMO_DAY_S + (int64_t)hour * DEMO_HOUR_S) * 1000;

    /* A recalibration due today happens by now at the latest; anything
     * later has not happened yet. */
    if (kind == DEMO_EV_CALIBRATE && day <= d->now_day && at_ms > d->now_ms) {
        at_ms = d->now_ms;
    }
    if (d->n_ev >= DEMO_MAX_EVENTS || at_ms > d->now_ms) {
        return;
    }
    e = &d->ev[d->n_ev++];
    e->at_ms = at_ms;
    e->kind = kind;
    e->a = a;
    e->b = b;
    e->day = day;
}

/* The year's changes to the organisation, in time order. Each happens
 * early on its day, before the day's first session (08:00). */
static void demo_plan_events(struct demo *d)
{
    for (int k = 0; k < d->rounds; k++) {
        demo_event_add(d, DEMO_EV_CALIBRATE, k, 0, d->start_day + k * d->policy.cert_days,
                       DEMO_WINDOW_HOUR);
    }
    for (int i = 0; i < DEMO_PEOPLE; i++) {
        if (d->people[i].move_day != 0) {
            demo_event_add(d, DEMO_EV_LINE, i, d->people[i].new_manager, d->people[i].move_day, 5);
        }
    }
    for (int c = 0; c < DEMO_COHORTS; c++) {
        demo_event_add(d, DEMO_EV_ENROL, c, 0, d->cohort_day[c], 5);
        demo_event_add(d, DEMO_EV_COMPLETE, c, 0, d->cohort_day[c] + 7 * DEMO_MODULES, 5);
    }
    qsort(d->ev, d->n_ev, sizeof(d->ev[0]), demo_event_cmp);
}

static int demo_event_run(struct demo *d, const struct demo_event *ev)
{
    struct demo_event_ctx c = {d, ev};
    int rc;

    switch (ev->kind) {
    case DEMO_EV_CALIBRATE:
        return demo_calibrate(d, ev);
    case DEMO_EV_LINE:
        rc = store_exec(d->s, demo_line_txn, &c);
        break;
    default:
        rc = store_exec(d->s, demo_enrol_txn, &c);
        break;
    }
    if (rc != 0) {
        demo_say(d, "storing an organisation change failed: %s", error_strerror(rc));
    }
    return rc;
}

/* Submits every record in time order, with the organisation's changes
 * made when they happen. */
static int demo_timeline(struct demo *d)
{
    size_t e = 0;
    int rc = 0;

    for (size_t i = 0; i < d->n_rec && rc == 0; i++) {
        while (rc == 0 && e < d->n_ev && d->ev[e].at_ms <= d->rec[i].received_ms) {
            rc = demo_flush(d);
            if (rc == 0) {
                rc = demo_event_run(d, &d->ev[e]);
            }
            e++;
        }
        if (rc == 0) {
            demo_build_record(d, &d->rec[i]);
            d->double_coded += d->rec[i].second;
            rc = demo_queue(d, d->rec[i].observer, d->rec[i].received_ms, 0);
        }
    }
    if (rc == 0) {
        rc = demo_flush(d);
    }
    for (; rc == 0 && e < d->n_ev; e++) {
        rc = demo_event_run(d, &d->ev[e]);
    }
    return rc;
}

/* ---- Business results --------------------------------------------------- */

/* The CRM's figures for the 12 whole months before the month of now:
 * per rep and month win_rate, pipeline_coverage, quota_attainment and
 * crm_completeness; per front-line manager and month sessions_held (the
 * coaching sessions they logged, observed or not); per manager and
 * quarter (whole quarters only) their team's mean win_rate and
 * quota_attainment. A team's results follow its manager's coaching quality
 * one to two quarters later (the mean of the quality 45, 90 and 135 days
 * before the month), plus each rep's own level and monthly noise, so that
 * the results partly follow quality, never fully. */
#define DEMO_OUT_MONTHS 12
#define DEMO_OUT_QUARTERS (DEMO_OUT_MONTHS / 3 + 1)

struct demo_month {
    int y, m;
    int32_t first, last;
};

/* The manager's coaching quality on day: the mean over the
 * coaching-conversation rubric's behaviours. */
static double demo_quality_mean(const struct demo *d, const struct demo_flm *f, int32_t day)
{
    size_t nb = d->rubric[DEMO_RUBRIC_CC]->n_behaviours;
    double sum = 0.0;

    if (nb > DEMO_MAX_BEH) {
        nb = DEMO_MAX_BEH;
    }
    for (size_t b = 0; b < nb; b++) {
        sum += demo_quality(d, f, DEMO_RUBRIC_CC, b, day);
    }
    return nb > 0 ? sum / (double)nb : 0.0;
}

/* How far above an average manager the team's results run in a month:
 * the quality of one to two quarters before, in deviations. */
static double demo_lagged(const struct demo *d, const struct demo_flm *f, int32_t mid)
{
    double q = (demo_quality_mean(d, f, mid - 45) + demo_quality_mean(d, f, mid - 90) +
                demo_quality_mean(d, f, mid - 135)) /
               3.0;

    return (q - 2.45) / 0.5;
}

static double demo_round(double v, double unit)
{
    double x = v / unit;

    /* Half away from zero, without libm. */
    x = x >= 0 ? (double)(int64_t)(x + 0.5) : -(double)(int64_t)(-x + 0.5);
    return x * unit;
}

static void demo_months(const struct demo *d, struct demo_month out[DEMO_OUT_MONTHS])
{
    time_t t = (time_t)d->now_day * DEMO_DAY_S;
    struct tm tm;
    int idx;

    gmtime_r(&t, &tm);
    idx = (tm.tm_year + 1900) * 12 + tm.tm_mon - DEMO_OUT_MONTHS;
    for (int i = 0; i < DEMO_OUT_MONTHS; i++, idx++) {
        char p[32];

        out[i].y = idx / 12;
        out[i].m = idx % 12 + 1;
        snprintf(p, sizeof(p), "%04d-%02d", out[i].y, out[i].m);
        if (outcomes_period_parse(p, &out[i].first, &out[i].last) != 0) {
            /* Before 1970: no such demo (demo_run() needs a later now). */
            out[i].first = out[i].last = 0;
        }
    }
}

static int demo_outcome_put(struct demo *d, struct store_txn *t, const char *subject, int team,
                            const char *period, const char *metric, double value)
{
    Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
    int rc;

    o.subject_id = (char *)subject;
    o.team = team;
    o.period = (char *)period;
    o.metric = (char *)metric;
    o.value = value;
    o.imported_at_ms = d->now_ms;
    rc = outcomes_put(t, &o, NULL);
    if (rc == 0) {
        d->outcomes++;
    }
    return rc;
}

/* A team's monthly sums, for its quarterly figures. */
struct demo_team_sum {
    double win[DEMO_OUT_QUARTERS], quota[DEMO_OUT_QUARTERS];
    unsigned n[DEMO_OUT_QUARTERS];
};

static int demo_outcomes_txn(struct store_txn *t, void *arg)
{
    static const char *const metrics[] = {"win_rate", "pipeline_coverage", "quota_attainment",
                                          "crm_completeness"};
    struct demo *d = arg;
    struct demo_month mo[DEMO_OUT_MONTHS];
    struct demo_team_sum *team = NULL;
    char period[32], detail[160];
    int q0, rc = 0;

    d->outcomes = 0;
    demo_months(d, mo);
    /* Quarter slots count from the first month's quarter. */
    q0 = mo[0].y * 4 + (mo[0].m - 1) / 3;
    team = calloc(DEMO_FLMS, sizeof(*team));
    if (team == NULL) {
        return -ENOMEM;
    }
    /* Each team's territory and market, which coaching does not change:
     * results follow quality only in part. */
    double territory[DEMO_FLMS];

    for (int fi = 0; fi < DEMO_FLMS; fi++) {
        struct demo_rng r;

        demo_fork(&r, d->seed, DEMO_S_OUTCOMES, (uint64_t)(DEMO_PEOPLE + DEMO_FLMS + fi));
        territory[fi] = demo_gauss(&r);
    }
    for (int i = DEMO_P_REP; i < DEMO_PEOPLE && rc == 0; i++) {
        struct demo_rng r;
        double level;

        demo_fork(&r, d->seed, DEMO_S_OUTCOMES, (uint64_t)i);
        level = demo_gauss(&r);
        for (int k = 0; k < DEMO_OUT_MONTHS && rc == 0; k++) {
            int32_t mid = mo[k].first + 14;
            int mgr = demo_manager_on(d, i, mid);
            int fi = mgr - DEMO_P_FLM;
            double z, v[4];
            int q;

            if (fi < 0 || fi >= DEMO_FLMS) {
                continue;
            }
            z = demo_lagged(d, &d->flm[fi], mid);
            /* The team's market counts about as much as the coaching. */
            z = 0.7 * z + 0.7 * territory[fi];
            v[0] = demo_clamp(0.24 + 0.05 * z + 0.04 * level + 0.05 * demo_gauss(&r), 0.02, 0.75);
            v[1] = demo_clamp(3.0 + 0.35 * z + 0.3 * level + 0.35 * demo_gauss(&r), 1.2, 5.5);
            v[2] = demo_clamp(0.86 + 0.12 * z + 0.1 * level + 0.15 * demo_gauss(&r), 0.1, 1.6);
            v[3] = demo_clamp(0.78 + 0.05 * z + 0.05 * level + 0.05 * demo_gauss(&r), 0.3, 1.0);
            snprintf(period, sizeof(period), "%04d-%02d", mo[k].y, mo[k].m);
            for (int mi = 0; mi < 4 && rc == 0; mi++) {
                rc = demo_outcome_put(d, t, d->people[i].id, 0, period, metrics[mi],
                                      demo_round(v[mi], mi == 1 ? 0.01 : 0.001));
            }
            q = mo[k].y * 4 + (mo[k].m - 1) / 3 - q0;
            team[fi].win[q] += v[0];
            team[fi].quota[q] += v[2];
            team[fi].n[q]++;
        }
    }
    for (int fi = 0; fi < DEMO_FLMS && rc == 0; fi++) {
        const struct demo_flm *f = &d->flm[fi];
        struct demo_rng r;

        demo_fork(&r, d->seed, DEMO_S_OUTCOMES, (uint64_t)(DEMO_PEOPLE + fi));
        for (int k = 0; k < DEMO_OUT_MONTHS && rc == 0; k++) {
            /* Logged sessions: about three times those observed, five times
             * for the busy managers, who log many. */
            double mean = f->rate * (f->busy ? 5.0 : 3.0);
            double held = demo_round(mean + 0.3 * mean * demo_gauss(&r), 1.0);

            snprintf(period, sizeof(period), "%04d-%02d", mo[k].y, mo[k].m);
            rc = demo_outcome_put(d, t, d->people[f->person].id, 0, period, "sessions_held",
                                  held < 0 ? 0 : held);
        }
        /* Whole quarters only: the first month of the window may be a
         * quarter's second or third. */
        for (int k = 0; k < DEMO_OUT_MONTHS && rc == 0; k++) {
            int q = mo[k].y * 4 + (mo[k].m - 1) / 3 - q0;

            if ((mo[k].m - 1) % 3 != 0 || k + 2 >= DEMO_OUT_MONTHS || team[fi].n[q] == 0) {
                continue;
            }
            snprintf(period, sizeof(period), "%04d-Q%d", mo[k].y, (mo[k].m - 1) / 3 + 1);
            rc = demo_outcome_put(d, t, d->people[f->person].id, 1, period, "win_rate",
                                  demo_round(team[fi].win[q] / team[fi].n[q], 0.001));
            if (rc == 0) {
                rc = demo_outcome_put(d, t, d->people[f->person].id, 1, period, "quota_attainment",
                                      demo_round(team[fi].quota[q] / team[fi].n[q], 0.001));
            }
        }
    }
    free(team);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail), "%u outcomes: 12 months of rep results and manager inputs",
             d->outcomes);
    return demo_audit(t, d->now_ms, "import.outcomes", "demo", detail);
}

/* ---- Entry -------------------------------------------------------------- */

static void demo_fill_summary(const struct demo *d, struct demo_summary *out, unsigned certified)
{
    memset(out, 0, sizeof(*out));
    out->leads = DEMO_LEADS;
    out->observers = certified;
    out->second_level = DEMO_SLMS;
    out->front_line = DEMO_FLMS;
    out->reps = DEMO_REPS;
    out->people = DEMO_PEOPLE;
    out->observations = d->stored;
    out->calibrations = d->calibrations;
    out->cohorts = DEMO_COHORTS;
    out->refused = d->refused;
    out->outcomes = d->outcomes;
}

int demo_run(struct store *s, const struct demo_opts *o, struct demo_summary *out)
{
    struct demo *d = NULL;
    struct demo_check chk;
    struct demo_certs_check cc;
    struct timespec t0, t1;
    char ds[16];
    char ds2[16];
    int32_t effective = 0;
    int people_stored = 0;
    int rc = -EINVAL;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || o == NULL) {
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = -ENOMEM;
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        goto out;
    }
    d->s = s;
    d->progress = o->progress;
    d->seed = o->seed;
    d->now = o->now != 0 ? o->now : (int64_t)time(NULL);
    d->now_ms = d->now * 1000;
    d->now_day = store_day_of(d->now);
    d->start_day = d->now_day - DEMO_WINDOW_DAYS;
    d->org_day = d->start_day - DEMO_ORG_DAYS_BEFORE;
    d->setup_ms =
        ((int64_t)(d->start_day - DEMO_SETUP_DAYS_BEFORE) * DEMO_DAY_S + 9 * DEMO_HOUR_S) * 1000;
    d->policy = *store_get_policy(s);

    chk.d = d;
    rc = store_view(s, demo_check_txn, &chk);
    if (rc != 0) {
        demo_say(d, "reading the store failed: %s", error_strerror(rc));
        goto out;
    }
    if (chk.has_people) {
        demo_say(d, "the store already holds people: the demo seeds a new data directory only");
        rc = -EEXIST;
        goto out;
    }
    if (chk.missing) {
        demo_say(d, "rubric '%s' is not in the store: run 'coachqd init' first",
                 demo_rubric_ids[chk.missing - 1]);
        rc = -ENOENT;
        goto out;
    }
    for (int i = 0; i < DEMO_RUBRICS; i++) {
        if (d->rubric[i]->n_behaviours == 0) {
            demo_say(d, "rubric '%s' has no behaviours", d->rubric[i]->id);
            rc = -EINVAL;
            goto out;
        }
        effective =
            d->rubric[i]->effective_day > effective ? d->rubric[i]->effective_day : effective;
    }
    /* The reference recordings (a few weeks before the year) must be
     * scored against a version in effect. */
    if (d->start_day - DEMO_RECORDED_DAYS_BEFORE - 7 * DEMO_REFS < effective) {
        demo_say(d,
                 "the 12 months before %s start too soon after the rubrics took effect "
                 "(%s): the demo needs a later date",
                 demo_day_str(d->now_day, ds), demo_day_str(effective, ds2));
        rc = -EINVAL;
        goto out;
    }
    /* Observers recalibrate when a certification runs out within the
     * year. */
    d->rounds = d->policy.cert_days > 0 ? DEMO_WINDOW_DAYS / d->policy.cert_days + 1 : 0;
    if (d->rounds < 1 || d->rounds > DEMO_MAX_ROUNDS) {
        demo_say(d, "certifications that hold %d days would need %d calibration rounds in a year",
                 d->policy.cert_days, d->rounds);
        rc = -EINVAL;
        goto out;
    }

    demo_plan_people(d);
    demo_plan_managers(d);
    demo_plan_references(d);
    demo_plan_events(d);
    rc = demo_plan_sessions(d);
    if (rc != 0) {
        demo_say(d, "planning the sessions failed: %s", error_strerror(rc));
        goto out;
    }

    rc = store_exec(s, demo_setup_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the people failed: %s", error_strerror(rc));
        goto out;
    }
    people_stored = 1;
    demo_say(d,
             "organisation: %d people (%d enablement lead, %d observers, %d second-level "
             "and %d front-line managers, %d reps), lines from %s",
             DEMO_PEOPLE, DEMO_LEADS, DEMO_OBSERVERS, DEMO_SLMS, DEMO_FLMS, DEMO_REPS,
             demo_day_str(d->org_day, ds));
    rc = store_exec(s, demo_refs_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the calibration references failed: %s", error_strerror(rc));
        goto out;
    }
    rc = demo_timeline(d);
    if (rc != 0) {
        goto out;
    }
    if (d->refused > 0) {
        demo_say(d, "%u generated records were refused by the rules: a bug in the demo",
                 d->refused);
        rc = -EPROTO;
        goto out;
    }

    rc = store_exec(s, demo_outcomes_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the business results failed: %s", error_strerror(rc));
        goto out;
    }
    demo_say(d, "business results: %u figures for the 12 months before %s", d->outcomes,
             demo_day_str(d->now_day, ds));

    /* The year was replayed in time order, so an enrolment came in at its
     * cohort's start, after the sessions before it: like a back-dated
     * import, that changes where those sessions count. */
    {
        struct agg_verify_result vr;

        rc = agg_verify(s, 1, NULL, NULL, &vr);
        if (rc != 0) {
            demo_say(d, "bringing the dashboards' aggregates up to date failed: %s",
                     error_strerror(rc));
            goto out;
        }
    }

    memset(&cc, 0, sizeof(cc));
    cc.d = d;
    cc.day = d->now_day;
    rc = store_view(s, demo_certs_txn, &cc);
    if (rc != 0) {
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    demo_say(d,
             "%d people, %u observers certified, %u observations stored (%u double-coded, "
             "%u calibration attempts) from %s to %s in %.1f s",
             DEMO_PEOPLE, cc.certified, d->stored, d->double_coded, d->calibrations,
             demo_day_str(d->start_day, ds), demo_day_str(d->now_day, ds2),
             (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (out != NULL) {
        demo_fill_summary(d, out, cc.certified);
    }
    rc = 0;
out:
    if (rc != 0 && d != NULL && out != NULL) {
        demo_fill_summary(d, out, 0);
        if (!people_stored) {
            out->people = out->leads = out->second_level = out->front_line = out->reps = 0;
            out->cohorts = 0;
        }
    }
    if (d != NULL) {
        for (size_t i = 0; i < d->n_batch; i++) {
            free(d->buf[i]);
        }
        for (int i = 0; i < DEMO_RUBRICS; i++) {
            coachq__v1__rubric__free_unpacked(d->rubric[i], NULL);
        }
        free(d->sess);
        free(d->rec);
    }
    free(d);
    return rc;
}
