/*
 * demo_ctc: coaching the coaches in the demo organisation (demo_int.h).
 *
 * The second-level managers' own coaching is planned with the rest of the
 * year and replayed through the same rules, in time order with the other
 * records (demo_timeline() calls demo_ctc_due()):
 *
 *   - two second-level managers also hold the observer role, as an
 *     administrator would give it; the first is certified for
 *     coaching-conversation and coaching-the-coach, the second for
 *     coaching-conversation only; the first three observers are certified
 *     for coaching-the-coach (certifications granted by the demo's
 *     administrator, audited as `coachqd cert grant` is), the second
 *     of them until 20 days after the demo's today and the third until 5
 *     days after (so Observer reliability warns of both ending), the
 *     others for a year;
 *   - every four to six weeks each second-level manager reviews each
 *     front-line manager in their line that day (rubric coaching-the-coach,
 *     coach the second-level manager, coachee the front-line manager),
 *     scored by one of those three observers; each second-level manager
 *     has a level of their own, so the reviews differ by line;
 *   - the two second-level managers who observe sit in, every three weeks
 *     or so, on a coaching-conversation session of one of their own
 *     front-line managers that an observer scores too (double-coded).
 *
 * Everything goes through demo_queue() like the other records, so the
 * writer checks coach, coachee, certification and line on the session
 * date. Runs on demo_run()'s thread; its own random stream
 * (DEMO_S_CTC), so the rest of the demo draws as before.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "demo_int.h"
#include "error.h"
#include "people.h"
#include "rubrics.h"

#define CTC_RUBRIC "coaching-the-coach"
/* Observers (0..) certified for coaching-the-coach. */
#define CTC_OBSERVERS 3
/* Days after the demo's today their coaching-the-coach certification
 * ends: two end soon, so Observer reliability's expiry warning shows. */
static const int32_t CTC_CERT_DAYS[CTC_OBSERVERS] = {365, 20, 5};
/* Second-level managers (0..) who also observe. */
#define CTC_SLM_OBSERVERS 2

/* What a reviewer said, by behaviour: when it went well, and when not. */
static const char *const ctc_good[] = {
    "Asked which moments of the rep's calls the manager had picked beforehand, and checked them.",
    "Let the manager assess their own meeting first, then asked when the rep first spoke.",
    "Opened with a specific strength of the manager's feedback to the rep.",
    "Agreed one thing for the manager to work on, and why it mattered most.",
    "Role-played the manager's opening question until it sounded natural.",
    "Compared the rep's progress with the criteria agreed three weeks ago.",
    "Checked last review's action first and ended with a dated action for the manager.",
};
static const char *const ctc_poor[] = {
    "Never asked whether the manager had listened to the calls before the meeting.",
    "Gave a verdict on the meeting before the manager could assess it.",
    "Opened with what went wrong; no strength named.",
    "Ended with a list of six things to improve.",
    "Practice was not mentioned, neither the rep's nor the manager's.",
    "Progress discussed as a feeling, with no criteria.",
    "No action agreed, and the previous one was not followed up.",
};

static void ctc_reset(struct demo_obsbuf *ob)
{
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;

    ob->o = o;
    ob->o.id.data = ob->id;
    ob->o.id.len = sizeof(ob->id);
    ob->o.ratings = ob->rp;
    ob->notes[0] = '\0';
    ob->o.notes = ob->notes;
}

struct ctc_setup {
    struct demo *d;
    Coachq__V1__Rubric *ctc;
};

/* Gives a person the observer role (audited as `coachqd import people`
 * would record the change). */
static int add_observer_role(struct store_txn *t, struct demo *d, const char *id)
{
    Coachq__V1__Person *p = NULL;
    Coachq__V1__Role *roles;
    int rc;

    rc = people_get(t, id, &p);
    if (rc != 0) {
        return rc;
    }
    if (people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER)) {
        goto out;
    }
    /* The unpacked message's allocator is the system's (NULL). */
    roles = realloc(p->roles, (p->n_roles + 1) * sizeof(*roles));
    if (roles == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    roles[p->n_roles++] = COACHQ__V1__ROLE__ROLE_OBSERVER;
    p->roles = roles;
    p->updated_at_ms = d->setup_ms;
    rc = people_put(t, p, NULL);
    if (rc == 0) {
        rc = demo_audit(t, d->setup_ms, "user.role", id, "observer added");
    }
out:
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

/* Certifies observer for rubric from before the demo's first day until
 * `days` days after its today. */
static int grant(struct store_txn *t, struct demo *d, const char *observer, const char *rubric,
                 int32_t days)
{
    Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;
    char detail[128];
    int rc;

    c.observer_id = (char *)observer;
    c.rubric_id = (char *)rubric;
    c.valid_from_day = d->start_day - DEMO_SETUP_DAYS_BEFORE;
    c.valid_until_day = d->now_day + days;
    c.granted_by = (char *)DEMO_ACTOR;
    c.granted_at_ms = d->setup_ms;
    rc = certs_put(t, &c);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail), "%s", rubric);
    return demo_audit(t, d->setup_ms, "cert.grant", observer, detail);
}

/* Roles and certifications (write transaction; arg a struct ctc_setup). */
static int ctc_setup_txn(struct store_txn *t, void *arg)
{
    struct ctc_setup *cs = arg;
    struct demo *d = cs->d;
    int rc;

    rc = rubrics_get(t, CTC_RUBRIC, 0, &cs->ctc);
    if (rc != 0) {
        return rc;
    }
    for (int i = 0; i < CTC_SLM_OBSERVERS && rc == 0; i++) {
        const char *id = d->people[DEMO_P_SLM + i].id;

        rc = add_observer_role(t, d, id);
        if (rc == 0) {
            rc = grant(t, d, id, demo_rubric_ids[DEMO_RUBRIC_CC], 365);
        }
        if (rc == 0 && i == 0) {
            rc = grant(t, d, id, CTC_RUBRIC, 365);
        }
    }
    for (int o = 0; o < CTC_OBSERVERS && rc == 0; o++) {
        rc = grant(t, d, d->people[DEMO_P_OBS + o].id, CTC_RUBRIC, CTC_CERT_DAYS[o]);
    }
    return rc;
}

/* A rating of behaviour b at quality level q (1..4 scale) with noise. */
static uint32_t ctc_score(struct demo_rng *r, double q)
{
    return (uint32_t)lround(demo_clamp(q + 0.45 * demo_gauss(r), 1, 4));
}

/* Queues one review by second-level manager s of front-line manager f (person
 * indexes) at started_at, scored by observer o. */
static int ctc_review(struct demo *d, struct demo_rng *r, const Coachq__V1__Rubric *rb, int s,
                      int f, int64_t started_at, int o, double level, int64_t received_ms)
{
    struct demo_obsbuf *ob = &d->ob;
    size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;

    ctc_reset(ob);
    demo_uuid(r, ob->id);
    ob->o.rubric_id = rb->id;
    ob->o.rubric_version = rb->version;
    ob->o.coach_id = d->people[s].id;
    ob->o.coachee_id = d->people[f].id;
    ob->o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW;
    ob->o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    ob->o.started_at = started_at;
    ob->o.duration_s = (uint32_t)(1800 + 60 * demo_below(r, 16));
    snprintf(ob->notes, sizeof(ob->notes), "Review of %s's coaching of a rep's recorded calls.",
             d->people[f].name);
    for (size_t b = 0; b < nb; b++) {
        Coachq__V1__Rating init = COACHQ__V1__RATING__INIT;
        Coachq__V1__Rating *rt = &ob->r[b];
        /* Each behaviour around the manager's level, the later steps of
         * the process a little harder. */
        double q = level - 0.1 * (double)(b % 3);

        *rt = init;
        rt->behaviour_id = rb->behaviours[b]->id;
        ob->rp[b] = rt;
        if (rb->behaviours[b]->allow_not_applicable && demo_chance(r, 0.15)) {
            rt->not_applicable = 1;
            continue;
        }
        rt->score = ctc_score(r, q);
        if (rt->score == 1 || rt->score == 4 || demo_chance(r, 0.3)) {
            snprintf(ob->evidence[b], sizeof(ob->evidence[b]), "%s",
                     rt->score >= 3 ? ctc_good[b % 7] : ctc_poor[b % 7]);
            rt->evidence = ob->evidence[b];
        }
    }
    ob->o.n_ratings = nb;
    /* demo_queue() names the observer by index from the observers on;
     * the second-level managers follow them in the people array. */
    return demo_queue(d, o, received_ms, 0);
}

/* Queues second-level manager s's own record of planned session si (a
 * front-line manager of their line coaching a rep), sitting in beside the
 * session's observer: the same coach, coachee and start, so the two
 * records are double-coded. Scores are the session's own with a little
 * noise of the second-level manager's. */
static int slm_observes(struct demo *d, struct demo_rng *r, int s, size_t si, int64_t received_ms)
{
    const struct demo_session *ss = &d->sess[si];
    const Coachq__V1__Rubric *rb = d->rubric[ss->rubric];
    struct demo_obsbuf *ob = &d->ob;
    size_t nb = rb->n_behaviours < DEMO_MAX_BEH ? rb->n_behaviours : DEMO_MAX_BEH;

    ctc_reset(ob);
    demo_uuid(r, ob->id);
    ob->o.rubric_id = rb->id;
    ob->o.rubric_version = rb->version;
    ob->o.coach_id = d->people[d->flm[ss->flm].person].id;
    ob->o.coachee_id = d->people[ss->rep].id;
    ob->o.session_type = ss->type;
    ob->o.focus = ss->focus;
    ob->o.started_at = ss->started_at;
    ob->o.duration_s = ss->duration_s;
    snprintf(ob->notes, sizeof(ob->notes), "Sat in as their second-level manager.");
    for (size_t b = 0; b < nb; b++) {
        Coachq__V1__Rating init = COACHQ__V1__RATING__INIT;
        Coachq__V1__Rating *rt = &ob->r[b];

        *rt = init;
        rt->behaviour_id = rb->behaviours[b]->id;
        ob->rp[b] = rt;
        if (ss->na[b]) {
            rt->not_applicable = 1;
            continue;
        }
        rt->score = (uint32_t)lround(demo_clamp((double)ss->truth[b] + 0.3 * demo_gauss(r), 1, 4));
        if (rt->score == 1 || rt->score == 4) {
            demo_evidence_note(ob->evidence[b], sizeof(ob->evidence[b]), r, rb->behaviours[b],
                               rt->score, 0);
            rt->evidence = ob->evidence[b];
        }
    }
    ob->o.n_ratings = nb;
    return demo_queue(d, DEMO_OBSERVERS + (s - DEMO_P_SLM), received_ms, 0);
}

/* Appends one planned record. */
static int plan_add(struct demo *d, const struct demo_ctc_item *it)
{
    if (d->n_ctc == d->cap_ctc) {
        size_t cap = d->cap_ctc > 0 ? 2 * d->cap_ctc : 256;
        struct demo_ctc_item *a = realloc(d->ctc, cap * sizeof(*a));

        if (a == NULL) {
            return -ENOMEM;
        }
        d->ctc = a;
        d->cap_ctc = cap;
    }
    d->ctc[d->n_ctc++] = *it;
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    const struct demo_ctc_item *x = a, *y = b;

    if (x->received_ms != y->received_ms) {
        return x->received_ms < y->received_ms ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Plans the year's reviews and second-level managers' observations. */
static int ctc_plan(struct demo *d)
{
    struct demo_rng r;
    struct demo_ctc_item it;
    int rc = 0;

    demo_fork(&r, d->seed, DEMO_S_CTC, 0);
    for (int k = 0; k < DEMO_SLMS && rc == 0; k++) {
        int s = DEMO_P_SLM + k;
        /* Each second-level manager's level as a coach of coaches. */
        double level = demo_range(&r, 2.0, 3.4);

        for (int fi = 0; fi < DEMO_FLMS && rc == 0; fi++) {
            int f = d->flm[fi].person;
            int32_t day = demo_weekday(d->start_day + 7 + (int32_t)demo_below(&r, 21));

            for (; rc == 0 && day + 1 < d->now_day;
                 day = demo_weekday(day + 28 + (int32_t)demo_below(&r, 15))) {
                if (demo_manager_on(d, f, day) != s) {
                    continue;
                }
                memset(&it, 0, sizeof(it));
                it.review = 1;
                it.s = s;
                it.f = f;
                it.day = day;
                it.at = (int64_t)day * DEMO_DAY_S + 12 * DEMO_HOUR_S + 600;
                it.observer = (int)demo_below(&r, CTC_OBSERVERS);
                it.level = level + 0.2 * (double)(day - d->start_day) / DEMO_WINDOW_DAYS;
                it.noise = demo_next(&r);
                it.received_ms = (it.at + 3 * DEMO_HOUR_S) * 1000;
                it.order = d->n_ctc;
                rc = plan_add(d, &it);
            }
        }
    }
    /* The second-level managers who observe sit in on a session of their
     * line every three weeks or so: the first coaching-conversation session
     * of one of their managers from the day they pick. */
    for (int k = 0; k < CTC_SLM_OBSERVERS && rc == 0; k++) {
        int s = DEMO_P_SLM + k;
        int64_t from = (int64_t)(d->start_day + 3 + (int32_t)demo_below(&r, 14)) * DEMO_DAY_S;

        while (rc == 0) {
            size_t best = d->n_sess;

            for (size_t i = 0; i < d->n_sess; i++) {
                const struct demo_session *ss = &d->sess[i];

                if (ss->rubric == DEMO_RUBRIC_CC && ss->started_at >= from &&
                    (best == d->n_sess || ss->started_at < d->sess[best].started_at) &&
                    demo_manager_on(d, d->flm[ss->flm].person,
                                    (int32_t)(ss->started_at / DEMO_DAY_S)) == s) {
                    best = i;
                }
            }
            if (best == d->n_sess) {
                break;
            }
            memset(&it, 0, sizeof(it));
            it.s = s;
            it.f = (int)best;
            it.at = d->sess[best].started_at;
            it.noise = demo_next(&r);
            it.received_ms = (it.at + d->sess[best].duration_s + 2 * DEMO_HOUR_S) * 1000;
            it.order = d->n_ctc;
            rc = plan_add(d, &it);
            from = it.at + (int64_t)(18 + demo_below(&r, 8)) * DEMO_DAY_S;
        }
    }
    if (rc == 0 && d->n_ctc > 1) {
        qsort(d->ctc, d->n_ctc, sizeof(*d->ctc), item_cmp);
    }
    return rc;
}

int demo_ctc_setup(struct demo *d)
{
    struct ctc_setup cs;
    int rc;

    memset(&cs, 0, sizeof(cs));
    cs.d = d;
    rc = store_exec(d->s, ctc_setup_txn, &cs);
    if (rc == -ENOENT) {
        demo_say(d,
                 "no rubric '%s' is loaded: 'coachqd init' loads it; no coaching of the "
                 "coaches in the demo",
                 CTC_RUBRIC);
        return 0;
    }
    if (rc != 0) {
        demo_say(d, "giving second-level managers the observer role failed: %s",
                 error_strerror(rc));
        coachq__v1__rubric__free_unpacked(cs.ctc, NULL);
        return rc;
    }
    d->ctc_rubric = cs.ctc;
    return ctc_plan(d);
}

int demo_ctc_due(struct demo *d, int64_t until_ms)
{
    int rc = 0;

    while (rc == 0 && d->i_ctc < d->n_ctc && d->ctc[d->i_ctc].received_ms <= until_ms) {
        const struct demo_ctc_item *it = &d->ctc[d->i_ctc++];
        struct demo_rng r = {it->noise};

        if (it->review) {
            d->ctc_reviews++;
            rc = ctc_review(d, &r, d->ctc_rubric, it->s, it->f, it->at, it->observer, it->level,
                            it->received_ms);
        } else {
            d->slm_observed++;
            rc = slm_observes(d, &r, it->s, (size_t)it->f, it->received_ms);
        }
    }
    return rc;
}
