#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "apitok.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"
#include "zone.h"

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

unsigned auth_roles_of(const Coachq__V1__Person *p)
{
    unsigned roles = 0;

    for (size_t i = 0; p != NULL && i < p->n_roles; i++) {
        if (p->roles[i] > COACHQ__V1__ROLE__ROLE_UNSPECIFIED &&
            p->roles[i] <= COACHQ__V1__ROLE__ROLE_ADMINISTRATOR) {
            roles |= 1u << p->roles[i];
        }
    }
    return roles;
}

static int in_chain(const struct auth_user *u, const struct auth_target *t)
{
    for (size_t i = 0; t != NULL && i < t->n_chain; i++) {
        if (same(t->chain[i], u->id)) {
            return 1;
        }
    }
    return 0;
}

/* Whether u took part in a coaching-the-coach session (t->coaches_coach)
 * of coach with coachee: its coach as a second-level manager, or its
 * coachee as a front-line manager. */
static int ctc_party(const struct auth_user *u, const struct auth_target *t, const char *coach,
                     const char *coachee)
{
    return t->coaches_coach && (((u->roles & AUTH_SECOND_LEVEL) && same(coach, u->id)) ||
                                ((u->roles & AUTH_FRONT_LINE) && same(coachee, u->id)));
}

/* Whether u may read one record; see the table in auth.h. */
static int may_read(const struct auth_user *u, const struct auth_target *t)
{
    const Coachq__V1__StoredObservation *rec = t != NULL ? t->rec : NULL;
    int calibration;

    if (rec == NULL || rec->observation == NULL) {
        return 0;
    }
    if (u->roles & (AUTH_LEAD | AUTH_ADMIN)) {
        return 1;
    }
    if ((u->roles & AUTH_OBSERVER) && same(rec->observer_id, u->id)) {
        return 1;
    }
    /* A calibration attempt scores a reference session, not the people it
     * names: it belongs to its observer and the programme's leads. */
    calibration = rec->observation->calibration_ref.len != 0;
    if (calibration) {
        return 0;
    }
    if ((u->roles & AUTH_FRONT_LINE) && same(rec->observation->coach_id, u->id)) {
        return 1;
    }
    if (ctc_party(u, t, rec->observation->coach_id, rec->observation->coachee_id)) {
        return 1;
    }
    return (u->roles & AUTH_SECOND_LEVEL) && in_chain(u, t);
}

/* Whether u may see a dashboard; see the table in auth.h. */
static int may_see_dashboard(const struct auth_user *u, const struct auth_target *t)
{
    const char *subject = t != NULL ? t->subject : NULL;

    if (t == NULL) {
        return 0;
    }
    if (u->roles & (AUTH_LEAD | AUTH_ADMIN)) {
        return 1;
    }
    switch (t->dashboard) {
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS:
        return (u->roles & AUTH_SECOND_LEVEL) && (same(subject, u->id) || in_chain(u, t));
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER:
        /* Access by the line on the session date: a manager who moved to
         * another line stays visible to their former manager for the
         * sessions they had in that line (and only those, dash_line.c). */
        return ((u->roles & AUTH_FRONT_LINE) && same(subject, u->id)) ||
               ((u->roles & AUTH_SECOND_LEVEL) && (in_chain(u, t) || t->was_line));
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING:
        return ((u->roles & AUTH_FRONT_LINE) && same(subject, u->id)) ||
               ((u->roles & AUTH_SECOND_LEVEL) && in_chain(u, t));
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS:
        /* A second-level manager's coaching of their managers: theirs, and
         * the managers' above them. */
        return (u->roles & AUTH_SECOND_LEVEL) && (same(subject, u->id) || in_chain(u, t));
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER:
        /* An observer's own reliability: theirs alone (leads and
         * administrators anyone's, above). */
        return (u->roles & AUTH_OBSERVER) && same(subject, u->id);
    default:
        /* Programme impact and observer reliability: leads and
         * administrators only, handled above. */
        return 0;
    }
}

/* Whether u may read an action record; see the table in auth.h. */
static int may_read_action(const struct auth_user *u, const struct auth_target *t)
{
    const Coachq__V1__ActionRecord *a = t != NULL ? t->action : NULL;

    if (a == NULL) {
        return 0;
    }
    if (u->roles & (AUTH_LEAD | AUTH_ADMIN)) {
        return 1;
    }
    /* An observer reads what they scored, and any action still open: the
     * pair's next session, whoever observes it, is where it is followed
     * up, and the observer's UI lists the open ones at setup. An observer
     * who also manages (a front-line or second-level manager) reads other
     * lines' open actions no more than their own role lets them. */
    if ((u->roles & AUTH_OBSERVER) && same(t->action_observer, u->id)) {
        return 1;
    }
    if ((u->roles & AUTH_OBSERVER) && !(u->roles & (AUTH_FRONT_LINE | AUTH_SECOND_LEVEL)) &&
        actions_status_open(a->status)) {
        return 1;
    }
    if ((u->roles & AUTH_FRONT_LINE) && same(a->coach_id, u->id)) {
        return 1;
    }
    if (ctc_party(u, t, a->coach_id, a->coachee_id)) {
        return 1;
    }
    return (u->roles & AUTH_SECOND_LEVEL) && in_chain(u, t);
}

/* Whether u may score a session of t->coach; see the table in auth.h. */
static int may_score(const struct auth_user *u, const struct auth_target *t)
{
    /* Nobody scores a session they took part in: not the coach, and not
     * the coachee (a manager reviewed by their second-level manager). */
    if (t == NULL || t->coach == NULL || !(u->roles & AUTH_OBSERVER) || same(t->coach, u->id) ||
        same(t->coachee, u->id)) {
        return 0;
    }
    if (u->roles & (AUTH_LEAD | AUTH_ADMIN)) {
        return 1;
    }
    /* A second-level manager who observes reviews their own line: their
     * managers' sessions and, for coaching the coach, the second-level
     * managers below them. Another line's sessions are for observers
     * who do not manage anyone in the programme. */
    if (u->roles & AUTH_SECOND_LEVEL) {
        return in_chain(u, t);
    }
    return 1;
}

int auth_may_score(const struct store_scorer *s)
{
    struct auth_user u;
    struct auth_target t;

    memset(&u, 0, sizeof(u));
    memset(&t, 0, sizeof(t));
    if (s == NULL || s->observer == NULL || s->observer->id == NULL) {
        return -EACCES;
    }
    snprintf(u.id, sizeof(u.id), "%s", s->observer->id);
    u.roles = auth_roles_of(s->observer);
    t.coach = s->coach_id;
    t.coachee = s->coachee_id;
    t.chain = s->chain;
    t.n_chain = s->n_chain;
    t.coaches_coach = s->coaches_coach;
    return auth_decide(&u, AUTH_SCORE, &t);
}

int auth_decide(const struct auth_user *u, enum auth_action action,
                const struct auth_target *target)
{
    int ok = 0;

    if (u == NULL || u->id[0] == '\0' || u->roles == 0) {
        return -EACCES;
    }
    switch (action) {
    case AUTH_HELLO:
    case AUTH_LIST:
    case AUTH_RUBRICS:
        /* A list shows only records that pass AUTH_READ_RECORD one by one,
         * so it never shows what a get would not. */
        ok = 1;
        break;
    case AUTH_SUBMIT:
        ok = (u->roles & AUTH_OBSERVER) != 0;
        break;
    case AUTH_READ_RECORD:
        ok = may_read(u, target);
        break;
    case AUTH_CERT_STATUS:
        ok = target == NULL || target->observer == NULL || target->observer[0] == '\0' ||
             same(target->observer, u->id) || (u->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0;
        break;
    case AUTH_ADD_REFERENCE:
    case AUTH_STATS:
        ok = (u->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0;
        break;
    case AUTH_PEOPLE:
        ok = (u->roles & (AUTH_OBSERVER | AUTH_LEAD | AUTH_ADMIN)) != 0;
        break;
    case AUTH_IMPORT_OUTCOMES:
    case AUTH_IMPORT_SESSIONS:
    case AUTH_EXPORT:
        ok = (u->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0;
        break;
    case AUTH_DASHBOARD:
        ok = may_see_dashboard(u, target);
        break;
    case AUTH_READ_ACTION:
        ok = may_read_action(u, target);
        break;
    case AUTH_CALIBRATE:
        /* Attempts are an observer's own: leads and administrators read
         * anyone's results through AUTH_CERT_STATUS instead. */
        ok = (u->roles & AUTH_OBSERVER) != 0;
        break;
    case AUTH_ASSIGNMENTS:
        ok = (u->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0 ||
             ((u->roles & AUTH_OBSERVER) &&
              (target == NULL || target->observer == NULL || target->observer[0] == '\0' ||
               same(target->observer, u->id)));
        break;
    case AUTH_RETIRE_REFERENCE:
    case AUTH_DRAW_ASSIGNMENTS:
    case AUTH_PLANS:
        ok = (u->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0;
        break;
    case AUTH_SCORE:
        ok = may_score(u, target);
        break;
    }
    return ok ? 0 : -EACCES;
}

struct identify {
    const char *cn;
    const uint8_t *sha256;
    struct auth_user *out;
    char *why;
    size_t whylen;
};

static int identify_txn(struct store_txn *t, void *arg)
{
    struct identify *a = arg;
    Coachq__V1__Person *p = NULL;
    int pinned = 0;
    int rc;

    rc = people_get(t, a->cn, &p);
    if (rc == -ENOENT || rc == -EINVAL) {
        snprintf(a->why, a->whylen, "'%s' is not a coachq user: ask an administrator", a->cn);
        return -EACCES;
    }
    if (rc != 0) {
        return rc;
    }
    rc = -EACCES;
    if (p->disabled) {
        snprintf(a->why, a->whylen, "user '%s' is disabled", a->cn);
        goto out;
    }
    a->out->roles = auth_roles_of(p);
    if (a->out->roles == 0) {
        snprintf(a->why, a->whylen, "'%s' holds no role with a login", a->cn);
        goto out;
    }
    if (p->n_cert_sha256 > 0 && a->sha256 != NULL) {
        for (size_t i = 0; i < p->n_cert_sha256 && !pinned; i++) {
            pinned =
                p->cert_sha256[i].len == 32 && memcmp(p->cert_sha256[i].data, a->sha256, 32) == 0;
        }
        if (!pinned) {
            snprintf(a->why, a->whylen,
                     "this certificate is not the one registered for '%s': use the certificate "
                     "your administrator issued",
                     a->cn);
            goto out;
        }
    }
    snprintf(a->out->id, sizeof(a->out->id), "%s", a->cn);
    rc = 0;
out:
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

int auth_identify(struct store *s, const char *cn, const uint8_t *sha256, struct auth_user *out,
                  char *why, size_t whylen)
{
    struct identify a;

    memset(out, 0, sizeof(*out));
    if (whylen > 0) {
        why[0] = '\0';
    }
    a.cn = cn;
    a.sha256 = sha256;
    a.out = out;
    a.why = why;
    a.whylen = whylen;
    return store_view(s, identify_txn, &a);
}

int auth_record_chain(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                      char chain[][65], size_t *n)
{
    int32_t day;
    int rc;

    *n = 0;
    if (rec == NULL || rec->observation == NULL || rec->observation->coach_id == NULL ||
        rec->observation->coach_id[0] == '\0') {
        return 0;
    }
    /* The line that held on the session date, in the coach's zone, as the
     * writer judged it. */
    rc = zone_session_day(t, rec->observation, &day);
    if (rc != 0) {
        return rc;
    }
    return people_chain_at(t, rec->observation->coach_id, day, chain, n);
}

int auth_rubric_coaches_coach(struct store_txn *t, const char *rubric_id, uint32_t version)
{
    Coachq__V1__Rubric *r = NULL;
    int yes;

    if (rubric_id == NULL || rubrics_get(t, rubric_id, version, &r) != 0) {
        return 0;
    }
    yes = r->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER;
    coachq__v1__rubric__free_unpacked(r, NULL);
    return yes;
}

int auth_may_read_txn(struct store_txn *t, const struct auth_user *u,
                      const Coachq__V1__StoredObservation *rec)
{
    struct auth_target tg;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;

    memset(&tg, 0, sizeof(tg));
    tg.rec = rec;
    if (rec != NULL && rec->observation != NULL &&
        (same(rec->observation->coach_id, u->id) || same(rec->observation->coachee_id, u->id))) {
        tg.coaches_coach = auth_rubric_coaches_coach(t, rec->observation->rubric_id,
                                                     rec->observation->rubric_version);
    }
    /* Only a second-level manager's decision needs the line. */
    if ((u->roles & AUTH_SECOND_LEVEL) && auth_record_chain(t, rec, chain, &n) == 0) {
        tg.chain = (const char(*)[65])chain;
        tg.n_chain = n;
    }
    return auth_decide(u, AUTH_READ_RECORD, &tg) == 0;
}

int auth_identify_token_txn(struct store_txn *t, const char *tok, int64_t now_ms,
                            struct auth_user *out, int *touch, char *why, size_t whylen)
{
    Coachq__V1__ApiToken *rec = NULL;
    Coachq__V1__Person *p = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (touch != NULL) {
        *touch = 0;
    }
    snprintf(why, whylen, "unknown");
    rc = apitok_find_txn(t, tok, &rec);
    if (rc == -ENOENT) {
        return -EACCES;
    }
    if (rc < 0) {
        return rc;
    }
    rc = -EACCES;
    if (rec->revoked_at_ms != 0) {
        snprintf(why, whylen, "revoked token=%s", rec->id);
        goto out;
    }
    if (rec->expires_at_ms != 0 && now_ms >= rec->expires_at_ms) {
        snprintf(why, whylen, "expired token=%s", rec->id);
        goto out;
    }
    rc = people_get(t, rec->user_id, &p);
    if (rc == -ENOENT || rc == -EINVAL) {
        snprintf(why, whylen, "no_user token=%s", rec->id);
        rc = -EACCES;
        goto out;
    }
    if (rc < 0) {
        goto out;
    }
    rc = -EACCES;
    if (p->disabled || auth_roles_of(p) == 0) {
        snprintf(why, whylen, "user_disabled token=%s", rec->id);
        goto out;
    }
    snprintf(out->id, sizeof(out->id), "%s", rec->user_id);
    out->roles = auth_roles_of(p);
    if (touch != NULL) {
        *touch = now_ms - rec->last_used_at_ms >= APITOK_TOUCH_MS;
    }
    snprintf(why, whylen, "token=%s", rec->id);
    rc = 0;
out:
    coachq__v1__person__free_unpacked(p, NULL);
    coachq__v1__api_token__free_unpacked(rec, NULL);
    return rc;
}
