/*
 * demo_obs: the demo's observations (demo_int.h): an observer's record of
 * a session or attempt at a calibration reference, built as a client
 * would, then checked, packed and submitted through the store's writer in
 * batches, with what the rules say taken into the counters.
 */
#include "demo_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rubrics.h"

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
void demo_evidence_note(char *out, size_t len, struct demo_rng *r, const Coachq__V1__Behaviour *b,
                        uint32_t score, uint32_t minute)
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

/* The id of session si's i-th action, the same for every run of a seed. */
static void demo_action_id(const struct demo *d, uint32_t si, uint8_t i, uint8_t out[16])
{
    struct demo_rng r;

    demo_fork(&r, d->seed, DEMO_S_FOLLOW, (uint64_t)si * DEMO_MAX_ACTIONS + i);
    demo_uuid(&r, out);
}

/* How often manager fi follows up what they agreed: a third never do, the
 * others most of the time. */
static double demo_follow_through(const struct demo *d, int fi)
{
    struct demo_rng r;

    demo_fork(&r, d->seed, DEMO_S_FOLLOW, (uint64_t)1 << 40 | (uint64_t)fi);
    if (demo_chance(&r, 1.0 / 3.0)) {
        return 0.0;
    }
    return 0.6 + 0.35 * demo_unit(&r);
}

/* Session si's record follows up the actions agreed in the last session of
 * the same manager and rep that was built before it: a manager who follows
 * through checks each one, and the rep did it, partly did it, did not, or
 * it was dropped. Then si is the rep's last session. */
static void demo_follow_ups(struct demo *d, uint32_t si)
{
    const struct demo_session *s = &d->sess[si];
    struct demo_obsbuf *ob = &d->ob;
    uint32_t last = d->last_sess[s->rep];
    struct demo_rng r;
    double ft;

    ob->o.follow_ups = ob->up;
    ob->o.n_follow_ups = 0;
    if (last != 0 && last - 1 != si) {
        const struct demo_session *p = &d->sess[last - 1];

        ft = demo_follow_through(d, s->flm);
        demo_fork(&r, d->seed, DEMO_S_FOLLOW, (uint64_t)1 << 41 | si);
        for (uint8_t i = 0; p->flm == s->flm && p->started_at < s->started_at && i < p->n_actions;
             i++) {
            Coachq__V1__FollowUp u = COACHQ__V1__FOLLOW_UP__INIT;
            double x;

            if (!demo_chance(&r, ft)) {
                continue;
            }
            x = demo_unit(&r) * (0.6 + 0.4 * ft);
            u.status = x < 0.45   ? COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE
                       : x < 0.65 ? COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE
                       : x < 0.85 ? COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE
                                  : COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED;
            demo_action_id(d, last - 1, i, ob->follow_id[ob->o.n_follow_ups]);
            u.action_id.data = ob->follow_id[ob->o.n_follow_ups];
            u.action_id.len = 16;
            ob->u[ob->o.n_follow_ups] = u;
            ob->up[ob->o.n_follow_ups] = &ob->u[ob->o.n_follow_ups];
            ob->o.n_follow_ups++;
        }
        d->follow_ups += (unsigned)ob->o.n_follow_ups;
    }
    /* Each action is followed up once, in the pair's next session; a rep
     * who moved on to another manager starts afresh. */
    if (last == 0 || d->sess[last - 1].started_at < s->started_at) {
        d->last_sess[s->rep] = s->n_actions > 0 ? si + 1 : 0;
    }
}

/* Builds observer's record rec of its session into d->ob. */
void demo_build_record(struct demo *d, const struct demo_record *rec)
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
    demo_recording(d, rec);

    for (uint8_t i = 0; i < s->n_actions; i++) {
        Coachq__V1__Action ac = COACHQ__V1__ACTION__INIT;

        ac.text = (char *)demo_action_texts[s->action[i]];
        ac.focus_skill = (char *)demo_action_skills[s->action[i]];
        ac.owner_id = d->people[s->rep].id;
        ac.due_day = (uint32_t)s->due[i];
        demo_action_id(d, rec->session, i, ob->action_id[i]);
        ac.id.data = ob->action_id[i];
        ac.id.len = sizeof(ob->action_id[i]);
        ob->a[i] = ac;
        ob->ap[i] = &ob->a[i];
    }
    /* The second coder of a double-coded session scores it; the actions
     * and follow-ups are the first record's, as one agreement. */
    ob->o.n_actions = rec->second ? 0 : s->n_actions;
    if (!rec->second) {
        demo_follow_ups(d, rec->session);
    }
    demo_session_notes(s, ob->notes, sizeof(ob->notes));
}

/* Builds observer's attempt at reference j of rubric ri (calibration round
 * round) into d->ob. It agrees with the masters but for one rating, one
 * point off. */
void demo_build_attempt(struct demo *d, int round, int observer, int ri, int j)
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

/* ---- Submitting ---- */

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
int demo_flush(struct demo *d)
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
int demo_queue(struct demo *d, int observer, int64_t received_ms, int calib)
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
