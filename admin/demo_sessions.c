/*
 * demo_sessions: the demo's year of coaching sessions (demo_int.h): when
 * each manager coaches which rep, how well on the day, the moments the
 * observers tap, and which observers' records reach the server when.
 */
#include "demo_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const demo_action_texts[DEMO_ACTION_TEXTS] = {
    "Ask the economic buyer for a meeting before the proposal",
    "Map the decision process with the champion",
    "Send the mutual action plan to the customer",
    "Re-qualify the deal against the exit criteria",
    "Practise the discovery opener twice before Friday",
    "Bring two commented calls to the next session",
    "Confirm the budget owner and the sign-off date",
    "Write up the three biggest risks and a plan for each",
};

/* The rep skill each action serves (its focus, followed up session by
 * session on Manager detail's focus progress). */
const char *const demo_action_skills[DEMO_ACTION_TEXTS] = {
    "Access to power", "Qualification", "Deal control",  "Qualification",
    "Discovery",       "Self-review",   "Qualification", "Deal control",
};

/* The manager's quality on behaviour b of rubric ri on day, before the
 * session's own ups and downs. */
double demo_quality(const struct demo *d, const struct demo_flm *f, int ri, size_t b, int32_t day)
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

/* Training moves the mix (dashboards.md, "The coaching mix"): from its
 * completion a trained manager turns some process coaching into skill
 * coaching, drawn from the session's own numbers so that the demo's random
 * sequence, and so every other figure, stays as it was. */
static Coachq__V1__CoachingFocus demo_focus_after_training(const struct demo_flm *f, int32_t day,
                                                           Coachq__V1__CoachingFocus focus, int rep)
{
    if (f->completed_day > 0 && day > f->completed_day &&
        focus == COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS &&
        ((uint32_t)day * 2654435761u ^ (uint32_t)rep * 40503u) % 100u < 40u) {
        return COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    }
    return focus;
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
    s->focus = demo_focus_after_training(f, day, s->focus, s->rep);
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
int demo_plan_sessions(struct demo *d)
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
