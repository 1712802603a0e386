/*
 * session_actions: the agreed actions' fields and the follow-ups of the
 * pair's earlier actions in the session model (see session.h). The draft
 * holds both, so the journal keeps them across a crash and an amendment
 * starts from the original's; the records the follow-up step lists come
 * from the server and are not journaled (a resumed session asks again).
 */
#include "session.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "day.h"
#include "error.h"
#include "uuid.h"

/* The UTC day of the session's start (today when it has not started).
 * The server judges a due date against the coach's local day, which is
 * this day, the one before or the one after (zones run from UTC-12 to
 * UTC+14) and which the client does not know: session_action_set_due()
 * refuses only what every zone refuses. */
static int64_t session_day(const struct session *ses)
{
    int64_t t = ses->d->started_at != 0 ? ses->d->started_at : session_now_ms() / 1000;

    return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

const char *session_status_words(int status)
{
    switch (status) {
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN:
        return "open";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE:
        return "done";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE:
        return "partly done";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE:
        return "not done";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED:
        return "dropped";
    default:
        return "not followed up";
    }
}

int session_action_add(struct session *ses, const char *text)
{
    Coachq__V1__Observation *d = ses->d;
    Coachq__V1__Action **arr;
    Coachq__V1__Action *a;

    if (d->n_actions >= VALIDATE_MAX_ACTIONS) {
        session_say(ses, 1, "a session holds at most %d agreed actions", VALIDATE_MAX_ACTIONS);
        return -ENOSPC;
    }
    a = malloc(sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    coachq__v1__action__init(a);
    a->id.data = malloc(UUID_LEN);
    if (a->id.data == NULL || session_set_str(&a->text, text) < 0) {
        coachq__v1__action__free_unpacked(a, NULL);
        return -ENOMEM;
    }
    /* Made once, here: a retry, a resume or an amendment keeps it, so the
     * server sees the same action each time. */
    a->id.len = UUID_LEN;
    if (uuid_generate(a->id.data) < 0) {
        coachq__v1__action__free_unpacked(a, NULL);
        return -EIO;
    }
    a->owner = COACHQ__V1__ACTION_OWNER__ACTION_OWNER_REP;
    arr = realloc(d->actions, (d->n_actions + 1) * sizeof(*arr));
    if (arr == NULL) {
        coachq__v1__action__free_unpacked(a, NULL);
        return -ENOMEM;
    }
    d->actions = arr;
    d->actions[d->n_actions++] = a;
    ses->dirty = 1;
    return 0;
}

int session_action_toggle_owner(struct session *ses, size_t i)
{
    Coachq__V1__Action *a;

    if (i >= ses->d->n_actions) {
        return -EINVAL;
    }
    a = ses->d->actions[i];
    a->owner = a->owner == COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER
                   ? COACHQ__V1__ACTION_OWNER__ACTION_OWNER_REP
                   : COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER;
    ses->dirty = 1;
    session_say(ses, 0, "action %zu is the %s's to do", i + 1,
                a->owner == COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER ? "manager" : "rep");
    return 0;
}

int session_action_set_due(struct session *ses, size_t i, const char *date)
{
    char d0[DAY_TIME_LEN], d1[DAY_TIME_LEN];
    int64_t day = session_day(ses);
    uint32_t due = 0;

    if (i >= ses->d->n_actions) {
        return -EINVAL;
    }
    if (date != NULL && date[0] != '\0') {
        if (day_parse(date, &due) < 0 || due == 0) {
            session_say(ses, 1, "actions[%zu].due_day: \"%s\" is not a date; type YYYY-MM-DD", i,
                        date);
            return -EINVAL;
        }
        if ((int64_t)due < day - 1) {
            day_format(due, d0, sizeof(d0));
            day_format(day, d1, sizeof(d1));
            session_say(ses, 1,
                        "actions[%zu].due_day: %s is before the session (%s); give a due date "
                        "on or after the session, or none",
                        i, d0, d1);
            return -ERANGE;
        }
    }
    ses->d->actions[i]->due_day = due;
    ses->dirty = 1;
    if (due != 0 && (int64_t)due < day) {
        /* The day before the session's UTC day is the session's own day
         * where the coach's clock is behind UTC: a warning, and the server
         * decides. */
        day_format(due, d0, sizeof(d0));
        session_say(ses, 1,
                    "action %zu is due on %s, the day before the session in UTC; the server "
                    "refuses it unless that is the session's day in the coach's time zone",
                    i + 1, d0);
    } else if (due != 0) {
        day_format(due, d0, sizeof(d0));
        session_say(ses, 0, "action %zu is due on %s", i + 1, d0);
    } else {
        session_say(ses, 0, "action %zu has no due date", i + 1);
    }
    return 0;
}

static size_t focus_count(const Coachq__V1__Action *a)
{
    return a->n_focus_behaviours + (a->focus_skill != NULL && a->focus_skill[0] != '\0');
}

int session_action_toggle_focus(struct session *ses, size_t i, const char *behaviour_id)
{
    Coachq__V1__Action *a;
    char **arr;
    char *copy;

    if (i >= ses->d->n_actions || behaviour_id == NULL || behaviour_id[0] == '\0') {
        return -EINVAL;
    }
    a = ses->d->actions[i];
    for (size_t j = 0; j < a->n_focus_behaviours; j++) {
        if (strcmp(a->focus_behaviours[j], behaviour_id) == 0) {
            free(a->focus_behaviours[j]);
            memmove(&a->focus_behaviours[j], &a->focus_behaviours[j + 1],
                    (a->n_focus_behaviours - j - 1) * sizeof(a->focus_behaviours[0]));
            a->n_focus_behaviours--;
            ses->dirty = 1;
            session_say(ses, 0, "action %zu no longer serves %s", i + 1, behaviour_id);
            return 0;
        }
    }
    if (focus_count(a) >= VALIDATE_MAX_FOCUS) {
        session_say(ses, 1,
                    "actions[%zu].focus_behaviours: an action serves one or two focus areas "
                    "(behaviours and skill together); remove one first",
                    i);
        return -ENOSPC;
    }
    copy = strdup(behaviour_id);
    if (copy == NULL) {
        return -ENOMEM;
    }
    arr = realloc(a->focus_behaviours, (a->n_focus_behaviours + 1) * sizeof(*arr));
    if (arr == NULL) {
        free(copy);
        return -ENOMEM;
    }
    a->focus_behaviours = arr;
    a->focus_behaviours[a->n_focus_behaviours++] = copy;
    ses->dirty = 1;
    session_say(ses, 0, "action %zu serves %s", i + 1, behaviour_id);
    return 0;
}

int session_action_set_skill(struct session *ses, size_t i, const char *skill)
{
    Coachq__V1__Action *a;
    int had;

    if (i >= ses->d->n_actions) {
        return -EINVAL;
    }
    a = ses->d->actions[i];
    had = a->focus_skill != NULL && a->focus_skill[0] != '\0';
    if (skill != NULL && skill[0] != '\0' && !had && a->n_focus_behaviours >= VALIDATE_MAX_FOCUS) {
        session_say(ses, 1,
                    "actions[%zu].focus_skill: the action serves two behaviours already; an "
                    "action serves one or two focus areas, behaviours and skill together",
                    i);
        return -ENOSPC;
    }
    if (skill != NULL && strlen(skill) > VALIDATE_MAX_SKILL) {
        session_say(ses, 1, "actions[%zu].focus_skill: at most %d bytes", i, VALIDATE_MAX_SKILL);
        return -ENOSPC;
    }
    if (session_set_str(&a->focus_skill, skill) < 0) {
        return -ENOMEM;
    }
    ses->dirty = 1;
    session_say(ses, 0, "action %zu: skill %s", i + 1,
                skill != NULL && skill[0] != '\0' ? "set" : "removed");
    return 0;
}

const char *session_action_focus_words(const Coachq__V1__Action *a, char *buf, size_t len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t j = 0; j < a->n_focus_behaviours && n < len; j++) {
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "", a->focus_behaviours[j]);
    }
    if (a->focus_skill != NULL && a->focus_skill[0] != '\0' && n < len) {
        snprintf(buf + n, len - n, "%sskill: %s", n > 0 ? ", " : "", a->focus_skill);
    }
    if (buf[0] == '\0') {
        snprintf(buf, len, "-");
    }
    return buf;
}

/* The draft's follow-up of this action id, or -1. */
static ssize_t fu_find(const struct session *ses, const ProtobufCBinaryData *id)
{
    for (size_t i = 0; i < ses->d->n_follow_ups; i++) {
        const ProtobufCBinaryData *b = &ses->d->follow_ups[i]->action_id;

        if (b->len == id->len && id->len == UUID_LEN && memcmp(b->data, id->data, UUID_LEN) == 0) {
            return (ssize_t)i;
        }
    }
    return -1;
}

static int rec_listed(const struct session *ses, const ProtobufCBinaryData *id)
{
    for (size_t i = 0; i < ses->n_open; i++) {
        const ProtobufCBinaryData *b = &ses->open[i]->id;

        if (b->len == id->len && id->len == UUID_LEN && memcmp(b->data, id->data, UUID_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

static void open_clear(struct session *ses)
{
    for (size_t i = 0; i < ses->n_open; i++) {
        coachq__v1__action_record__free_unpacked(ses->open[i], NULL);
    }
    free(ses->open);
    ses->open = NULL;
    ses->n_open = 0;
}

void session_open_actions_free(struct session *ses)
{
    open_clear(ses);
}

/* Whether the record was agreed in this very observation (its original,
 * when the draft is an amendment): that cannot be followed up here. */
static int agreed_here(const struct session *ses, const Coachq__V1__ActionRecord *r)
{
    const ProtobufCBinaryData *root =
        ses->d->amends.len == UUID_LEN ? &ses->d->amends : &ses->d->id;

    return r->agreed_in.len == UUID_LEN && root->len == UUID_LEN &&
           memcmp(r->agreed_in.data, root->data, UUID_LEN) == 0;
}

int session_open_actions_take(struct session *ses, Coachq__V1__ActionList *l)
{
    Coachq__V1__ActionRecord **arr;
    size_t n = 0;

    open_clear(ses);
    if (l == NULL) {
        return 0;
    }
    arr = calloc(l->n_actions > 0 ? l->n_actions : 1, sizeof(*arr));
    if (arr == NULL) {
        coachq__v1__action_list__free_unpacked(l, NULL);
        return -ENOMEM;
    }
    for (size_t i = 0; i < l->n_actions; i++) {
        Coachq__V1__ActionRecord *r = l->actions[i];
        int open = r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN ||
                   r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE ||
                   r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE;

        if (strcmp(r->coach_id, ses->d->coach_id) != 0 ||
            strcmp(r->coachee_id, ses->d->coachee_id) != 0 || agreed_here(ses, r) ||
            r->id.len != UUID_LEN || (!open && fu_find(ses, &r->id) < 0)) {
            continue;
        }
        /* Moved out of the list, which is freed below. */
        arr[n++] = r;
        l->actions[i] = NULL;
    }
    ses->open = arr;
    ses->n_open = n;
    ses->open_state = 1;
    for (size_t i = 0; i < l->n_actions; i++) {
        if (l->actions[i] != NULL) {
            coachq__v1__action_record__free_unpacked(l->actions[i], NULL);
        }
    }
    free(l->actions);
    l->actions = NULL;
    l->n_actions = 0;
    coachq__v1__action_list__free_unpacked(l, NULL);
    return 0;
}

int session_open_actions_due(const struct session *ses, int64_t now_ms)
{
    if (ses->d->coach_id[0] == '\0' || ses->d->coachee_id[0] == '\0') {
        return 0;
    }
    if (ses->open_state == 0 || strcmp(ses->open_coach, ses->d->coach_id) != 0 ||
        strcmp(ses->open_coachee, ses->d->coachee_id) != 0) {
        return 1;
    }
    /* Loaded, or failed: a failure is worth another try once the network
     * may be back, unless the server turned this user away. */
    return ses->open_state < 0 && !ses->offline_refused &&
           now_ms - ses->open_tried_ms >= SESSION_OPEN_RETRY_MS;
}

void session_open_actions_load(struct session *ses)
{
    Coachq__V1__ListActions q = COACHQ__V1__LIST_ACTIONS__INIT;
    Coachq__V1__ActionList *l = NULL;
    struct client_error e;
    int64_t now = session_now_ms();
    int rc;

    if (!session_open_actions_due(ses, now)) {
        return;
    }
    if (ses->open_state < 0 && ses->offline && !ses->offline_refused && ses->c == NULL) {
        /* A retry: the server was out of reach, perhaps no longer. */
        ses->offline = 0;
    }
    open_clear(ses);
    snprintf(ses->open_coach, sizeof(ses->open_coach), "%s", ses->d->coach_id);
    snprintf(ses->open_coachee, sizeof(ses->open_coachee), "%s", ses->d->coachee_id);
    ses->open_state = -1;
    ses->open_tried_ms = now;
    ses->open_why[0] = '\0';
    if (session_connect(ses) < 0) {
        snprintf(ses->open_why, sizeof(ses->open_why), "offline: %s",
                 ses->offline_why[0] != '\0' ? ses->offline_why : "no server");
        session_say(ses, 1,
                    "open actions not loaded (%s); the session goes on: follow them up in an "
                    "amendment later",
                    ses->open_why);
        return;
    }
    /* A list by coachee (the server takes one person), narrowed to the
     * coach here: a rep has few coaches, while a coach's actions with all
     * their reps may pass what one answer reads (ACTIONS_EXAMINE_MAX). An
     * amendment's follow-ups may name actions that are no longer open, so
     * it asks for all. */
    q.coachee_id = ses->d->coachee_id;
    q.open_only = ses->d->n_follow_ups == 0;
    memset(&e, 0, sizeof(e));
    rc = client_actions(ses->c, &q, &l, &e);
    if (rc < 0) {
        snprintf(ses->open_why, sizeof(ses->open_why), "%s%s",
                 rc == -EREMOTEIO ? "the server refused: " : "", e.message);
        if (rc != -EREMOTEIO) {
            ses->offline = 1;
            snprintf(ses->offline_why, sizeof(ses->offline_why), "%s", e.message);
        }
        session_disconnect(ses);
        session_say(ses, 1, "open actions not loaded (%s); the session goes on", ses->open_why);
        return;
    }
    session_disconnect(ses);
    if (l->truncated) {
        /* Rare (a rep with more actions than one answer holds): say it,
         * as `coachq actions` does, rather than show a list as complete. */
        session_say(ses, 1,
                    "the server's list of %s's actions was cut: some open actions of this pair "
                    "may be missing here; follow them up in an amendment",
                    ses->d->coachee_id);
    }
    if (session_open_actions_take(ses, l) < 0) {
        snprintf(ses->open_why, sizeof(ses->open_why), "out of memory");
        return;
    }
    ses->open_state = 1;
}

size_t session_fu_count(const struct session *ses)
{
    size_t n = ses->n_open;

    for (size_t i = 0; i < ses->d->n_follow_ups; i++) {
        n += !rec_listed(ses, &ses->d->follow_ups[i]->action_id);
    }
    return n;
}

const ProtobufCBinaryData *session_fu_row(const struct session *ses, size_t i,
                                          const Coachq__V1__ActionRecord **rec,
                                          Coachq__V1__FollowUp **fu)
{
    ssize_t k;

    *rec = NULL;
    *fu = NULL;
    if (i < ses->n_open) {
        *rec = ses->open[i];
        k = fu_find(ses, &ses->open[i]->id);
        *fu = k >= 0 ? ses->d->follow_ups[k] : NULL;
        return &ses->open[i]->id;
    }
    i -= ses->n_open;
    for (size_t j = 0; j < ses->d->n_follow_ups; j++) {
        if (rec_listed(ses, &ses->d->follow_ups[j]->action_id)) {
            continue;
        }
        if (i == 0) {
            *fu = ses->d->follow_ups[j];
            return &ses->d->follow_ups[j]->action_id;
        }
        i--;
    }
    return NULL;
}

/* The session clock's moment in seconds since 1970, like a marker's. */
static int64_t session_moment(const struct session *ses, int64_t now)
{
    if (ses->d->started_at == 0) {
        return now / 1000;
    }
    return ses->d->started_at + (int64_t)(session_clock_now(ses->s, now) / 1000u);
}

int session_fu_set(struct session *ses, size_t i, int status, int64_t now)
{
    Coachq__V1__Observation *d = ses->d;
    const Coachq__V1__ActionRecord *rec;
    Coachq__V1__FollowUp *fu;
    Coachq__V1__FollowUp **arr;
    const ProtobufCBinaryData *id = session_fu_row(ses, i, &rec, &fu);
    ssize_t k;

    if (id == NULL || status < 0 || status > COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED) {
        return -EINVAL;
    }
    if (status == 0) {
        k = fu_find(ses, id);
        if (k >= 0) {
            coachq__v1__follow_up__free_unpacked(d->follow_ups[k], NULL);
            memmove(&d->follow_ups[k], &d->follow_ups[k + 1],
                    (d->n_follow_ups - (size_t)k - 1) * sizeof(d->follow_ups[0]));
            d->n_follow_ups--;
            ses->dirty = 1;
        }
        session_say(ses, 0, "action %zu: not followed up", i + 1);
        return 0;
    }
    if (fu == NULL) {
        if (d->n_follow_ups >= VALIDATE_MAX_FOLLOW_UPS) {
            session_say(ses, 1, "a session follows up at most %d actions", VALIDATE_MAX_FOLLOW_UPS);
            return -ENOSPC;
        }
        fu = malloc(sizeof(*fu));
        if (fu == NULL) {
            return -ENOMEM;
        }
        coachq__v1__follow_up__init(fu);
        fu->action_id.data = malloc(UUID_LEN);
        if (fu->action_id.data == NULL) {
            free(fu);
            return -ENOMEM;
        }
        memcpy(fu->action_id.data, id->data, UUID_LEN);
        fu->action_id.len = UUID_LEN;
        arr = realloc(d->follow_ups, (d->n_follow_ups + 1) * sizeof(*arr));
        if (arr == NULL) {
            coachq__v1__follow_up__free_unpacked(fu, NULL);
            return -ENOMEM;
        }
        d->follow_ups = arr;
        d->follow_ups[d->n_follow_ups++] = fu;
    }
    fu->status = status;
    fu->at = session_moment(ses, now);
    ses->dirty = 1;
    session_say(ses, 0, "action %zu: %s", i + 1, session_status_words(status));
    return 0;
}

int session_fu_evidence(struct session *ses, size_t i, const char *text)
{
    const Coachq__V1__ActionRecord *rec;
    Coachq__V1__FollowUp *fu;

    if (session_fu_row(ses, i, &rec, &fu) == NULL || fu == NULL) {
        return -ENOENT;
    }
    if (session_set_str(&fu->evidence, text) < 0) {
        return -ENOMEM;
    }
    ses->dirty = 1;
    return 0;
}

void session_after_rating(struct session *ses)
{
    /* The follow-up step's visit: a load that failed at setup is asked
     * again (the network may be back by the end of the call). */
    session_open_actions_load(ses);
    if (session_fu_count(ses) > 0) {
        session_set_phase(ses, SESSION_PHASE_FOLLOWUPS, 0);
        session_say(ses, 0,
                    "all rated: follow up the open actions (d done, p partly, n not done), "
                    "or Enter for the agreed actions");
    } else {
        session_set_phase(ses, SESSION_PHASE_ACTIONS, 0);
        session_say(ses, 0, "all rated: add the agreed actions, or Enter for the review");
    }
}

void session_before_actions(struct session *ses)
{
    if (session_fu_count(ses) > 0) {
        session_set_phase(ses, SESSION_PHASE_FOLLOWUPS, 0);
    } else {
        (void)session_rating_enter(ses, 0);
    }
}
