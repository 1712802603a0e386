#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "certs.h"
#include "certs_cal.h"
#include "day.h"
#include "error.h"
#include "keys.h"
#include "obs.h"
#include "people.h"
#include "rubrics.h"
#include "store_int.h"
#include "zone.h"

#define RULES_PREFIX "observation"

static int refuse(struct validate_error *fault, Coachq__V1__Code code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills the fault and returns ERROR_REFUSED. field is relative to the
 * observation ("" for the observation as a whole). */
static int refuse(struct validate_error *fault, Coachq__V1__Code code, const char *field,
                  const char *fmt, ...)
{
    va_list ap;

    fault->code = code;
    snprintf(fault->field, sizeof(fault->field), "%s%s%s", RULES_PREFIX, field[0] ? "." : "",
             field);
    va_start(ap, fmt);
    vsnprintf(fault->message, sizeof(fault->message), fmt, ap);
    va_end(ap);
    return ERROR_REFUSED;
}

/* Writes a time in milliseconds as "2026-12-06 09:00 UTC" into out. */
static const char *time_str(int64_t ms, char *out, size_t len)
{
    day_format_minute(ms, out, len);
    return out;
}

/* Writes day as YYYY-MM-DD into out (11 bytes). */
static const char *day_str(int32_t day, char out[16])
{
    day_format(day, out, 16);
    return out;
}

/* The observer's certification for the rubric on the session day. */
static int check_certification(struct store_txn *t, const char *observer, const char *rubric,
                               int32_t day, struct validate_error *fault)
{
    Coachq__V1__Certification *cert = NULL, *last = NULL;
    char d0[16], d1[16], d2[16];
    int rc;

    /* Most records of a batch come from observers certified for their
     * rubric: that answer is read once per batch (memo.c). */
    if (store_txn_memo_certified(t, observer, rubric, day) == 0) {
        return 0;
    }
    rc = certs_valid_on(t, observer, rubric, day, &cert, &last);
    if (rc == 0) {
        coachq__v1__certification__free_unpacked(cert, NULL);
        return 0;
    }
    if (rc != -ENOENT) {
        return rc;
    }
    if (last == NULL) {
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "rubric_id",
                    "you (%s) are not certified for rubric '%s': score its calibration "
                    "reference sessions, or ask an administrator to grant a certification",
                    observer, rubric);
    } else if (last->valid_from_day > day) {
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "started_at",
                    "you (%s) are certified for rubric '%s' only from %s, after this session "
                    "(%s)",
                    observer, rubric, day_str(last->valid_from_day, d0), day_str(day, d1));
    } else {
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "rubric_id",
                    "your (%s) certification for rubric '%s' held from %s until %s, not on the "
                    "session date %s: recalibrate to renew it",
                    observer, rubric, day_str(last->valid_from_day, d0),
                    day_str(last->valid_until_day, d1), day_str(day, d2));
    }
    coachq__v1__certification__free_unpacked(last, NULL);
    return rc;
}

/* Coach and coachee: for most rubrics a front-line manager and a rep who
 * reported to them on the session day; for a rubric that scores coaching
 * the coach (its coach_role is the second-level manager's), a second-level
 * manager and one of the front-line managers who reported to them on that
 * day. */
static int check_people(struct store_txn *t, const Coachq__V1__Rubric *r,
                        const Coachq__V1__Observation *obs, int32_t day,
                        struct validate_error *fault)
{
    const Coachq__V1__Person *coach = NULL, *coachee = NULL;
    Coachq__V1__Person *own_coach = NULL, *own_coachee = NULL;
    char manager[VALIDATE_MAX_ID + 1];
    char d0[16];
    int coaches_coach = r->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER;
    int rc;

    /* A batch's records often name one coach again: each person is
     * decoded once per batch (memo.c), and each reporting line read once. */
    rc = store_txn_memo_person(t, obs->coach_id, &coach, &own_coach);
    if (rc == -ENOENT) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coach_id",
                    "there is no person '%s': check the coach's id (an administrator imports "
                    "people with 'coachqd import people')",
                    obs->coach_id);
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    if (coaches_coach && !people_has_role(coach, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coach_id",
                    "'%s' is not a second-level manager: rubric '%s' scores a second-level "
                    "manager coaching one of their own front-line managers; score a front-line "
                    "manager's coaching of a rep with another rubric",
                    obs->coach_id, r->id);
        goto out;
    }
    if (!coaches_coach && !people_has_role(coach, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coach_id",
                    "'%s' is not a front-line manager: the coach must be the manager being "
                    "observed",
                    obs->coach_id);
        goto out;
    }
    rc = store_txn_memo_person(t, obs->coachee_id, &coachee, &own_coachee);
    if (rc == -ENOENT) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coachee_id",
                    "there is no person '%s': check the coachee's id", obs->coachee_id);
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    if (coaches_coach && !people_has_role(coachee, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coachee_id",
                    "'%s' is not a front-line manager: rubric '%s' scores a second-level "
                    "manager coaching one of their own front-line managers",
                    obs->coachee_id, r->id);
        goto out;
    }
    rc = store_txn_memo_manager_at(t, obs->coachee_id, day, manager, sizeof(manager));
    if (rc == -ENOENT) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coachee_id",
                    "'%s' reported to nobody on %s, so '%s' was not their manager: check the "
                    "coachee or the session date",
                    obs->coachee_id, day_str(day, d0), obs->coach_id);
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    if (strcmp(manager, obs->coach_id) != 0) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "coachee_id",
                    "'%s' reported to '%s' on %s, not to the coach '%s': %s", obs->coachee_id,
                    manager, day_str(day, d0), obs->coach_id,
                    coaches_coach ? "a second-level manager coaches only the front-line "
                                    "managers of their own line"
                                  : "check the coachee, the coach or the session date");
        goto out;
    }
    rc = 0;
out:
    coachq__v1__person__free_unpacked(own_coachee, NULL);
    coachq__v1__person__free_unpacked(own_coach, NULL);
    return rc;
}

/* The access rule for the observer of this session. Nobody scores a
 * session they took part in, as its coach or its coachee, whatever the
 * policy; the policy's callback (store_policy.may_score, query/auth.c)
 * adds the role and line rule: a second-level manager who observes scores
 * only the sessions of coaches in their own line on the session day. Runs
 * before the people checks, so a refused scorer learns nothing of another
 * line's reporting. */
static int check_scorer(struct store_txn *t, const char *observer,
                        const Coachq__V1__Observation *obs, const Coachq__V1__Rubric *r,
                        int32_t day, const struct store_policy *policy,
                        struct validate_error *fault)
{
    const Coachq__V1__Person *p = NULL;
    Coachq__V1__Person *own = NULL;
    struct store_scorer sc;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;
    char d0[16];
    int rc;

    if (strcmp(observer, obs->coach_id) == 0) {
        return refuse(fault, COACHQ__V1__CODE__PERMISSION_DENIED, "coach_id",
                      "you (%s) are the coach of this session: nobody scores their own coaching",
                      observer);
    }
    if (strcmp(observer, obs->coachee_id) == 0) {
        return refuse(fault, COACHQ__V1__CODE__PERMISSION_DENIED, "coachee_id",
                      "you (%s) are the coachee of this session: nobody scores a review of "
                      "their own coaching",
                      observer);
    }
    if (policy->may_score == NULL) {
        return 0;
    }
    /* The observer of a batch's records is mostly the same few: decoded
     * once per batch (memo.c), like the chain below. */
    rc = store_txn_memo_person(t, observer, &p, &own);
    if (rc == -ENOENT) {
        return refuse(fault, COACHQ__V1__CODE__PERMISSION_DENIED, "",
                      "you (%s) are not a person of this organisation", observer);
    }
    if (rc != 0) {
        return rc;
    }
    rc = people_chain_at(t, obs->coach_id, day, chain, &n);
    if (rc == -ENOENT) {
        n = 0;
    } else if (rc != 0) {
        goto out;
    }
    memset(&sc, 0, sizeof(sc));
    sc.observer = p;
    sc.coach_id = obs->coach_id;
    sc.coachee_id = obs->coachee_id;
    sc.chain = (const char(*)[65])chain;
    sc.n_chain = n;
    sc.coaches_coach = r->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER;
    if (policy->may_score(&sc) != 0) {
        if (!people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER)) {
            rc = refuse(fault, COACHQ__V1__CODE__PERMISSION_DENIED, "",
                        "you (%s) do not hold the observer role: only observers score sessions",
                        observer);
        } else {
            rc = refuse(fault, COACHQ__V1__CODE__PERMISSION_DENIED, "coach_id",
                        "you (%s) are a second-level manager: you may score only sessions whose "
                        "coach was in your own line on the session date, and '%s' was not on %s",
                        observer, obs->coach_id, day_str(day, d0));
        }
        goto out;
    }
    rc = 0;
out:
    coachq__v1__person__free_unpacked(own, NULL);
    return rc;
}

/* The rubric's behaviour bid, as rubrics_behaviour() finds it. Clients
 * list the ratings in the rubric's order, so the behaviour at the rating's
 * own position i is tried first; it is the one the search would find only
 * when the rubric names each behaviour once (unique), which the memo
 * knows of its rubric. */
static const Coachq__V1__Behaviour *rated_behaviour(const Coachq__V1__Rubric *r, int unique,
                                                    size_t i, const char *bid)
{
    if (unique && bid != NULL && i < r->n_behaviours && r->behaviours[i]->id != NULL &&
        strcmp(r->behaviours[i]->id, bid) == 0) {
        return r->behaviours[i];
    }
    return rubrics_behaviour(r, bid);
}

/* Every behaviour rated once, known, N/A only where allowed, evidence where
 * required. unique: r names each behaviour once
 * (store_txn_memo_rubric_unique()). */
static int check_ratings(const Coachq__V1__Rubric *r, int unique,
                         const Coachq__V1__Observation *obs, struct validate_error *fault)
{
    char field[64];

    for (size_t i = 0; i < obs->n_ratings; i++) {
        const Coachq__V1__Rating *rt = obs->ratings[i];
        const Coachq__V1__Behaviour *b = rated_behaviour(r, unique, i, rt->behaviour_id);

        if (b == NULL) {
            snprintf(field, sizeof(field), "ratings[%zu].behaviour_id", i);
            return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, field,
                          "rubric '%s' v%u has no behaviour '%s': use one of its behaviour ids "
                          "('coachq rubrics show %s')",
                          r->id, (unsigned)r->version, rt->behaviour_id, r->id);
        }
        if (rt->not_applicable && !b->allow_not_applicable) {
            snprintf(field, sizeof(field), "ratings[%zu].not_applicable", i);
            return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, field,
                          "'%s' (%s) cannot be rated not applicable in rubric '%s' v%u: give it "
                          "a score from 1 to 4",
                          b->id, b->name, r->id, (unsigned)r->version);
        }
        if (!rt->not_applicable && rubrics_needs_evidence(r, rt->score) &&
            (rt->evidence == NULL || rt->evidence[0] == '\0')) {
            snprintf(field, sizeof(field), "ratings[%zu].evidence", i);
            return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, field,
                          "a score of %u for '%s' needs an evidence note: write what you saw "
                          "or heard that shows it",
                          (unsigned)rt->score, b->id);
        }
    }
    for (size_t j = 0; j < r->n_behaviours; j++) {
        const Coachq__V1__Behaviour *b = r->behaviours[j];
        /* The rating at the behaviour's own position first, as above:
         * only whether one exists matters here. */
        int found = j < obs->n_ratings && strcmp(obs->ratings[j]->behaviour_id, b->id) == 0;

        for (size_t i = 0; i < obs->n_ratings && !found; i++) {
            found = strcmp(obs->ratings[i]->behaviour_id, b->id) == 0;
        }
        if (!found) {
            return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "ratings",
                          "behaviour '%s' (%s) is not rated: give it a score from 1 to 4%s", b->id,
                          b->name, b->allow_not_applicable ? " or mark it not applicable" : "");
        }
    }
    return 0;
}

/* A recorded review's stages have happened by the time the server
 * receives the record (latest: that time with the clock skew allowed). */
static int check_recording_times(const Coachq__V1__Recording *r, int64_t latest,
                                 struct validate_error *fault)
{
    static const char *const stage[4] = {"recording.picked_at", "recording.rep_commented_at",
                                         "recording.manager_commented_at",
                                         "recording.discussed_at"};
    const int64_t at[4] = {r->picked_at, r->rep_commented_at, r->manager_commented_at,
                           r->discussed_at};

    for (size_t i = 0; i < 4; i++) {
        if (at[i] > latest) {
            return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, stage[i],
                          "is in the future: a stage of the review is recorded once it has "
                          "happened; check the date and the clock");
        }
    }
    return 0;
}

/* An amendment of a recorded session keeps its recording and moves the
 * review on: every stage time the latest version recorded stays as it was,
 * and only stages after the last one recorded may be added (a skipped one
 * stays skipped); a live session stays live. */
static int check_recording_amend(const Coachq__V1__Observation *prev,
                                 const Coachq__V1__Observation *obs, struct validate_error *fault)
{
    static const char *const stage[4] = {"recording.picked_at", "recording.rep_commented_at",
                                         "recording.manager_commented_at",
                                         "recording.discussed_at"};
    const Coachq__V1__Recording *a = prev->recording;
    const Coachq__V1__Recording *b = obs->recording;

    if ((a == NULL) != (b == NULL)) {
        return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "recording",
                      a == NULL ? "is given, but the original was observed live; an amendment "
                                  "keeps the kind of session"
                                : "is missing, but the original was observed from a recording; "
                                  "an amendment keeps its recording");
    }
    if (a == NULL) {
        return 0;
    }
    if (strcmp(a->reference, b->reference) != 0) {
        return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "recording.reference",
                      "differs from the original's; an amendment keeps the recording observed");
    }
    {
        const int64_t was[4] = {a->picked_at, a->rep_commented_at, a->manager_commented_at,
                                a->discussed_at};
        const int64_t now[4] = {b->picked_at, b->rep_commented_at, b->manager_commented_at,
                                b->discussed_at};

        size_t last = 4;

        for (size_t i = 0; i < 4; i++) {
            if (was[i] != 0 && now[i] != was[i]) {
                return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, stage[i],
                              "%s the time the latest version recorded; an amendment moves the "
                              "review on (adds later stages) and never back",
                              now[i] == 0 ? "drops" : "changes");
            }
            if (was[i] != 0) {
                last = i;
            }
        }
        /* A stage skipped before the last one recorded stays skipped:
         * filling it in later would reorder the review (a rep's comment
         * added after the manager's makes the rep look first). */
        for (size_t i = 0; last < 4 && i < 4; i++) {
            if (was[i] == 0 && now[i] != 0 && (i < last || now[i] < was[last])) {
                return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, stage[i],
                              "is added, but the latest version already recorded %s; a "
                              "skipped stage stays skipped, and an amendment only adds stages "
                              "after the last one recorded",
                              stage[last] + strlen("recording."));
            }
        }
    }
    return 0;
}

/* An amendment: the original exists, is the observer's, is inside the
 * window and scores the same rubric. Fills amend. */
static int check_amendment(struct store_txn *t, const char *observer,
                           const Coachq__V1__Observation *obs, int64_t now_ms,
                           const struct store_policy *policy, struct rules_amend *amend,
                           struct validate_error *fault)
{
    Coachq__V1__StoredObservation **hist = NULL;
    const Coachq__V1__StoredObservation *orig, *latest;
    size_t n = 0;
    int64_t window_ms = (int64_t)policy->amend_window_days * 86400 * 1000;
    int rc;

    if (memcmp(obs->amends.data, obs->id.data, 16) == 0) {
        return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "amends",
                      "an amendment needs an id of its own: 'amends' names the original");
    }
    rc = store_history_txn(t, obs->amends.data, &hist, &n);
    if (rc == -ENOENT || (rc == 0 && n == 0)) {
        rc = refuse(fault, COACHQ__V1__CODE__NOT_FOUND, "amends",
                    "there is no observation of yours with this id to amend");
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    orig = hist[0];
    latest = hist[n - 1];
    if (orig->observer_id == NULL || strcmp(orig->observer_id, observer) != 0) {
        /* Someone else's record: its existence is not revealed. */
        rc = refuse(fault, COACHQ__V1__CODE__NOT_FOUND, "amends",
                    "there is no observation of yours with this id to amend");
        goto out;
    }
    if (orig->observation != NULL && orig->observation->calibration_ref.len != 0) {
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "amends",
                    "a calibration attempt cannot be amended: score the reference session again");
        goto out;
    }
    if (now_ms - orig->received_at_ms > window_ms) {
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "amends",
                    "the amendment window of %d days after the original was submitted has "
                    "closed: ask an enablement lead if the record must change",
                    policy->amend_window_days);
        goto out;
    }
    if (orig->observation == NULL || strcmp(orig->observation->rubric_id, obs->rubric_id) != 0) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "rubric_id",
                    "an amendment keeps the original's rubric ('%s')",
                    orig->observation != NULL ? orig->observation->rubric_id : "?");
        goto out;
    }
    if (latest->observation != NULL) {
        rc = check_recording_amend(latest->observation, obs, fault);
        if (rc != 0) {
            goto out;
        }
    }
    amend->is_amendment = 1;
    memcpy(amend->root, orig->root_id.len == 16 ? orig->root_id.data : obs->amends.data, 16);
    memcpy(amend->previous, latest->observation->id.data, 16);
    amend->version = latest->version + 1;
    /* An amendment stays assigned: read here, where the version it
     * supersedes is already decoded. */
    amend->assigned = latest->assigned ||
                      (latest->observation != NULL && latest->observation->assignment_id.len != 0);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        coachq__v1__stored_observation__free_unpacked(hist[i], NULL);
    }
    free(hist);
    return rc;
}

/* A calibration attempt: its reference exists and has this rubric, and the
 * observer has an attempt at it left (certs.h, "The calibration exam"). */
static int check_calibration(struct store_txn *t, const char *observer,
                             const Coachq__V1__Observation *obs, int64_t now_ms,
                             const struct store_policy *policy, struct validate_error *fault)
{
    Coachq__V1__CalibrationReference *ref = NULL;
    struct certs_exam exam;
    char when[40];
    int spent = 0;
    int rc;

    if (obs->amends.len != 0) {
        return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "amends",
                      "a calibration attempt cannot amend an observation");
    }
    rc = certs_reference_get(t, obs->calibration_ref.data, &ref);
    if (rc == -ENOENT) {
        return refuse(fault, COACHQ__V1__CODE__NOT_FOUND, "calibration_ref",
                      "there is no calibration reference session with this id: ask your "
                      "enablement lead for the reference's id");
    }
    if (rc != 0) {
        return rc;
    }
    if (ref->retired_at_ms != 0) {
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "calibration_ref",
                    "this reference session was retired on %s and takes no attempts: "
                    "'coachq calibrate' lists the ones in use",
                    time_str(ref->retired_at_ms, when, sizeof(when)));
    } else if (strcmp(ref->rubric_id, obs->rubric_id) != 0 ||
               ref->rubric_version != obs->rubric_version) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "rubric_version",
                    "this reference session is scored with rubric '%s' v%u: score it with "
                    "that version",
                    ref->rubric_id, (unsigned)ref->rubric_version);
    }
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    if (rc != 0) {
        return rc;
    }
    rc = certs_ref_spent(t, observer, obs->calibration_ref.data, &spent);
    if (rc != 0) {
        return rc;
    }
    if (spent) {
        return refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "calibration_ref",
                      "you have seen the master coder's scores of this reference session "
                      "('coachq calibrate' showed where you differed), so it no longer takes "
                      "your attempts: attempt another reference");
    }
    rc = certs_exam_state(t, observer, obs->calibration_ref.data, now_ms, policy, &exam);
    if (rc != 0) {
        return rc;
    }
    if (exam.next_ms != 0 && exam.cooling) {
        int hours = policy->cert_cooldown_s % 3600 == 0;

        return refuse(fault, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "calibration_ref",
                      "you attempted this reference session less than %lld %s ago: the next "
                      "attempt is possible from %s",
                      (long long)(hours ? policy->cert_cooldown_s / 3600 : policy->cert_cooldown_s),
                      hours ? "h" : "s", time_str(exam.next_ms, when, sizeof(when)));
    }
    if (exam.next_ms != 0) {
        return refuse(fault, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "calibration_ref",
                      "you have used all %u attempts at this reference session allowed in %d "
                      "days: the next attempt is possible from %s",
                      exam.allowed, policy->cert_window_days,
                      time_str(exam.next_ms, when, sizeof(when)));
    }
    return 0;
}

int rules_check_observation(struct store_txn *t, const char *observer,
                            const Coachq__V1__Observation *obs, int64_t now_ms,
                            const struct store_policy *policy, struct rules_amend *amend,
                            struct validate_error *fault)
{
    const Coachq__V1__Rubric *rubric = NULL;
    Coachq__V1__Rubric *own = NULL, *latest = NULL;
    int32_t day = 0;
    int calibration = obs->calibration_ref.len == 16;
    char d0[16], d1[16];
    int rc;

    memset(amend, 0, sizeof(*amend));
    memset(fault, 0, sizeof(*fault));
    /* The session date, in the coach's zone, for the rubric, the
     * certification and the reporting line alike. */
    rc = zone_session_day(t, obs, &day);
    if (rc != 0) {
        return rc;
    }
    if ((obs->amends.len != 0 && obs->amends.len != 16) ||
        (obs->calibration_ref.len != 0 && !calibration)) {
        return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT,
                      obs->amends.len != 0 && obs->amends.len != 16 ? "amends" : "calibration_ref",
                      "must be a 16-byte id or empty");
    }
    if (obs->rubric_version != 0) {
        /* The batch's records mostly share a rubric: decoded once. */
        rc = store_txn_memo_rubric(t, obs->rubric_id, obs->rubric_version, &rubric, &own);
    } else {
        rc = rubrics_get(t, obs->rubric_id, 0, &own);
        rubric = own;
    }
    if (rc == -ENOENT) {
        if (rubrics_get(t, obs->rubric_id, 0, &latest) == 0) {
            rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "rubric_version",
                        "rubric '%s' has no version %u; the latest is %u", obs->rubric_id,
                        (unsigned)obs->rubric_version, (unsigned)latest->version);
        } else {
            rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "rubric_id",
                        "there is no rubric '%s': 'coachq rubrics' lists the server's rubrics",
                        obs->rubric_id);
        }
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    if (obs->started_at > now_ms / 1000 + policy->future_slack_s) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "started_at",
                    "the session starts in the future: check the date and the clock");
        goto out;
    }
    if (obs->recording != NULL) {
        rc = check_recording_times(obs->recording, now_ms / 1000 + policy->future_slack_s, fault);
        if (rc != 0) {
            goto out;
        }
    }
    if (day < rubric->effective_day) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, "started_at",
                    "the session (%s) is before rubric '%s' v%u took effect (%s): score it "
                    "with the version that held then",
                    day_str(day, d0), rubric->id, (unsigned)rubric->version,
                    day_str(rubric->effective_day, d1));
        goto out;
    }
    if (calibration) {
        rc = check_calibration(t, observer, obs, now_ms, policy, fault);
    } else {
        rc = check_certification(t, observer, obs->rubric_id, day, fault);
        if (rc == 0) {
            rc = check_scorer(t, observer, obs, rubric, day, policy, fault);
        }
        if (rc == 0) {
            rc = check_people(t, rubric, obs, day, fault);
        }
    }
    if (rc == 0) {
        rc = check_ratings(rubric, store_txn_memo_rubric_unique(t, rubric), obs, fault);
    }
    if (rc == 0 && obs->amends.len == 16) {
        rc = check_amendment(t, observer, obs, now_ms, policy, amend, fault);
    }
    if (rc == 0 && !calibration) {
        rc = actions_check(t, obs, rubric, amend, day, fault);
    }
out:
    coachq__v1__rubric__free_unpacked(latest, NULL);
    coachq__v1__rubric__free_unpacked(own, NULL);
    return rc;
}
