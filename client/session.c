/*
 * session: the model of one live-scoring session, without a terminal. See
 * session.h for what it holds; the comments here say why.
 *
 * The draft observation is a protobuf-c message whose every field was
 * allocated with malloc() (built here, or decoded with the default
 * allocator), so that it can be grown in place and freed with
 * coachq__v1__local_session__free_unpacked(). Every change sets dirty; the
 * UI's loop journals the session with session_save() before it shows the
 * change, so that what the observer sees is always on disk.
 */
#include "session.h"
#include "session_checks.h"
#include "session_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "error.h"
#include "obs_json.h"
#include "uuid.h"
#include "validate.h"
#include "str.h"

#define LABEL_MAX 160
/* While the journal fails, it is tried again at every key and at least
 * this often. */
#define SAVE_RETRY_MS 1000

const struct session_kind session_kinds[SESSION_N_KINDS] = {
    {'o', COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION, "open question"},
    {'d', COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE, "directive"},
    {'e', COACHQ__V1__MARKER_KIND__MARKER_KIND_EVIDENCE_ASKED, "evidence asked"},
    {'p', COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE, "praise"},
    {'s', COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, "rep self-assessed"},
    {'t', COACHQ__V1__MARKER_KIND__MARKER_KIND_MANAGER_TOOK_OVER, "manager took over"},
    {'a', COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED, "action agreed"},
};

const char *const session_score_words[5] = {"", "not demonstrated", "developing", "proficient",
                                            "exemplary"};

/* Wall-clock milliseconds: the clock must survive a restart of the
 * process, so it cannot be a monotonic clock of this boot. */
int64_t session_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *session_kind_label(int kind)
{
    for (size_t i = 0; i < SESSION_N_KINDS; i++) {
        if (session_kinds[i].kind == kind) {
            return session_kinds[i].label;
        }
    }
    return "marker";
}

void session_say(struct session *ses, int warn, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ses->status, sizeof(ses->status), fmt, ap);
    va_end(ap);
    ses->status_warn = warn;
}

/* Replaces the string *field of a message (malloc'd, or the shared empty
 * default) with a copy of v. Returns 0 or -ENOMEM (then *field is kept). */
int session_set_str(char **field, const char *v)
{
    char *copy = NULL;

    if (v != NULL && v[0] != '\0') {
        copy = strdup(v);
        if (copy == NULL) {
            return -ENOMEM;
        }
    }
    if (*field != NULL && *field != protobuf_c_empty_string) {
        free(*field);
    }
    *field = copy != NULL ? copy : (char *)protobuf_c_empty_string;
    return 0;
}

/* A deep copy of any message, every part malloc'd, so that it can be
 * changed in place and freed with its free_unpacked(..., NULL). Returns
 * NULL when out of memory. */
void *session_pb_copy(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    ProtobufCMessage *c;

    if (buf == NULL) {
        return NULL;
    }
    protobuf_c_message_pack(m, buf);
    c = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    free(buf);
    return c;
}

/* "mm:ss" (minutes may pass 99). */
void session_fmt_clock(uint64_t ms, char *out, size_t len)
{
    uint64_t s = ms / 1000u;

    snprintf(out, len, "%02llu:%02llu", (unsigned long long)(s / 60u),
             (unsigned long long)(s % 60u));
}

const char *session_type_words(int v, char *buf, size_t len)
{
    const char *n = obs_json_session_type_name(v);

    if (n == NULL) {
        snprintf(buf, len, "-");
        return buf;
    }
    snprintf(buf, len, "%s", n);
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '_') {
            *p = ' ';
        }
    }
    return buf;
}

const char *session_focus_words(int v)
{
    switch (v) {
    case COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS:
        return "process";
    case COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL:
        return "skill";
    case COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN:
        return "human side";
    default:
        return "-";
    }
}

const char *session_code_name(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, code);

    return v != NULL ? v->name : "UNKNOWN";
}

/* A server code in words, for people. */
const char *session_code_words(int code)
{
    switch (code) {
    case COACHQ__V1__CODE__INVALID_ARGUMENT:
        return "the record is not valid";
    case COACHQ__V1__CODE__FAILED_PRECONDITION:
        return "a rule of the organisation refused it";
    case COACHQ__V1__CODE__PERMISSION_DENIED:
        return "you may not submit this";
    case COACHQ__V1__CODE__NOT_FOUND:
        return "something it names does not exist";
    case COACHQ__V1__CODE__ALREADY_EXISTS:
        return "a different record already has this id";
    case COACHQ__V1__CODE__OUT_OF_RANGE:
        return "a value is out of range";
    case COACHQ__V1__CODE__UNAUTHENTICATED:
        return "the server did not accept your certificate";
    default:
        return "the server refused it";
    }
}

/* Errors worth retrying later rather than fixing: the observation is
 * queued, not rejected (the same rule as outbox_flush()). */
int session_code_is_transient(int code)
{
    return code == COACHQ__V1__CODE__UNAVAILABLE || code == COACHQ__V1__CODE__DEADLINE_EXCEEDED;
}

/* The clock's time: what was accumulated before the last start, plus the
 * wall time since then while it runs. Because clock_started_ms is wall
 * time, a client killed while the clock ran finds on --resume that the
 * clock went on counting meanwhile, as the session in the room did. */
uint64_t session_clock_now(const Coachq__V1__LocalSession *s, int64_t now)
{
    uint64_t e = s->elapsed_ms;

    if (s->clock_started_ms > 0 && now > s->clock_started_ms) {
        e += (uint64_t)(now - s->clock_started_ms);
    }
    /* A recording's position stops at its end. */
    if (s->draft != NULL && s->draft->recording != NULL && e > s->draft->recording->length_ms) {
        e = s->draft->recording->length_ms;
    }
    return e;
}

int session_clock_running(const Coachq__V1__LocalSession *s)
{
    return s->clock_started_ms > 0;
}

void session_clock_start(struct session *ses, int64_t now)
{
    if (ses->s->clock_started_ms == 0) {
        ses->s->clock_started_ms = now;
        ses->dirty = 1;
    }
    if (ses->d->started_at == 0) {
        ses->d->started_at = now / 1000;
        ses->dirty = 1;
    }
}

void session_clock_stop(struct session *ses, int64_t now)
{
    if (ses->s->clock_started_ms != 0) {
        ses->s->elapsed_ms = session_clock_now(ses->s, now);
        ses->s->clock_started_ms = 0;
        ses->dirty = 1;
    }
}

int session_needs_evidence(const Coachq__V1__Rubric *r, uint32_t score)
{
    for (size_t i = 0; i < r->n_evidence_required; i++) {
        if (r->evidence_required[i] == score) {
            return 1;
        }
    }
    return 0;
}

const Coachq__V1__PersonSummary *session_person(const struct session *ses, const char *id)
{
    if (ses->people == NULL || id == NULL || id[0] == '\0') {
        return NULL;
    }
    for (size_t i = 0; i < ses->people->n_people; i++) {
        if (strcmp(ses->people->people[i]->id, id) == 0) {
            return ses->people->people[i];
        }
    }
    return NULL;
}

/* "Name (id)", or the id alone when the name is unknown, or "-". */
const char *session_person_words(const struct session *ses, const char *id, char *buf, size_t len)
{
    const Coachq__V1__PersonSummary *p = session_person(ses, id);

    if (id == NULL || id[0] == '\0') {
        snprintf(buf, len, "-");
    } else if (p != NULL && p->name[0] != '\0') {
        snprintf(buf, len, "%s (%s)", p->name, id);
    } else {
        snprintf(buf, len, "%s", id);
    }
    return buf;
}

int session_has_role(const Coachq__V1__PersonSummary *p, int role)
{
    for (size_t i = 0; i < p->n_roles; i++) {
        if ((int)p->roles[i] == role) {
            return 1;
        }
    }
    return 0;
}

/* Makes the draft hold exactly one rating per behaviour of the rubric, in
 * the rubric's order, keeping the scores it already has (an amendment's,
 * a resumed session's). Ratings of behaviours the rubric does not have
 * cannot be stored and are dropped; the status line says how many. */
int session_ratings_align(struct session *ses)
{
    const Coachq__V1__Rubric *r = ses->rubric;
    Coachq__V1__Observation *d = ses->d;
    Coachq__V1__Rating **arr = NULL;
    Coachq__V1__Rating **fresh = NULL;
    size_t n = r->n_behaviours;
    size_t need = 0;
    size_t dropped = 0;
    int rc = -ENOMEM;

    arr = calloc(n > 0 ? n : 1, sizeof(*arr));
    fresh = calloc(n > 0 ? n : 1, sizeof(*fresh));
    if (arr == NULL || fresh == NULL) {
        goto out;
    }
    /* Allocate first, so that nothing is moved when memory runs out. */
    for (size_t i = 0; i < n; i++) {
        int found = 0;

        for (size_t j = 0; j < d->n_ratings && !found; j++) {
            found = strcmp(d->ratings[j]->behaviour_id, r->behaviours[i]->id) == 0;
        }
        if (!found) {
            fresh[need] = malloc(sizeof(**fresh));
            if (fresh[need] == NULL) {
                goto out;
            }
            coachq__v1__rating__init(fresh[need]);
            need++;
            if (session_set_str(&fresh[need - 1]->behaviour_id, r->behaviours[i]->id) < 0) {
                goto out;
            }
        }
    }
    need = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d->n_ratings && arr[i] == NULL; j++) {
            if (d->ratings[j] != NULL &&
                strcmp(d->ratings[j]->behaviour_id, r->behaviours[i]->id) == 0) {
                arr[i] = d->ratings[j];
                d->ratings[j] = NULL;
            }
        }
        if (arr[i] == NULL) {
            arr[i] = fresh[need];
            fresh[need++] = NULL;
        }
    }
    for (size_t j = 0; j < d->n_ratings; j++) {
        if (d->ratings[j] != NULL) {
            coachq__v1__rating__free_unpacked(d->ratings[j], NULL);
            dropped++;
        }
    }
    free(d->ratings);
    d->ratings = arr;
    d->n_ratings = n;
    arr = NULL;
    if (dropped > 0) {
        session_say(ses, 1, "dropped %zu %s of behaviours that rubric %s v%u does not have",
                    dropped, str_plural(dropped, "rating", "ratings"), r->id, r->version);
    }
    ses->dirty = 1;
    rc = 0;
out:
    if (fresh != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (fresh[i] != NULL) {
                coachq__v1__rating__free_unpacked(fresh[i], NULL);
            }
        }
    }
    free(fresh);
    free(arr);
    return rc;
}

/* The first reason the ratings cannot be finished yet: a behaviour not
 * rated, or one whose score needs evidence without it. Returns 1 and sets
 * *at and msg, or 0 when everything is there. */
int session_rating_problem(const struct session *ses, size_t *at, char *msg, size_t len)
{
    const Coachq__V1__Rubric *r = ses->rubric;

    if (r == NULL) {
        snprintf(msg, len, "no rubric chosen");
        *at = 0;
        return 1;
    }
    for (size_t i = 0; i < r->n_behaviours && i < ses->d->n_ratings; i++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];
        const Coachq__V1__Rating *rt = ses->d->ratings[i];

        if (!rt->not_applicable && rt->score == 0) {
            snprintf(msg, len, "%s is not rated yet: press 1-4%s", b->name,
                     b->allow_not_applicable ? ", or x for not applicable" : "");
            *at = i;
            return 1;
        }
        if (rt->score > 0 && session_needs_evidence(r, rt->score) && rt->evidence[0] == '\0') {
            snprintf(msg, len, "%s needs evidence for a score of %u: press v and say what you saw",
                     b->name, rt->score);
            *at = i;
            return 1;
        }
    }
    if (ses->d->n_ratings < r->n_behaviours) {
        snprintf(msg, len, "the ratings are incomplete");
        *at = ses->d->n_ratings;
        return 1;
    }
    return 0;
}

/* Appends a marker at the clock's time. */
int session_marker_add(struct session *ses, int kind, int64_t now)
{
    Coachq__V1__Observation *d = ses->d;
    Coachq__V1__Marker **arr;
    Coachq__V1__Marker *m;
    uint64_t at = session_clock_now(ses->s, now);
    char t[24];

    if (d->n_markers >= VALIDATE_MAX_MARKERS) {
        session_say(ses, 1, "a session holds at most %d markers; this one was not added",
                    VALIDATE_MAX_MARKERS);
        return -ENOSPC;
    }
    m = malloc(sizeof(*m));
    if (m == NULL) {
        return -ENOMEM;
    }
    coachq__v1__marker__init(m);
    arr = realloc(d->markers, (d->n_markers + 1) * sizeof(*arr));
    if (arr == NULL) {
        free(m);
        return -ENOMEM;
    }
    d->markers = arr;
    m->kind = kind;
    m->offset_ms = at > UINT32_MAX ? UINT32_MAX : (uint32_t)at;
    d->markers[d->n_markers++] = m;
    ses->dirty = 1;
    session_fmt_clock(m->offset_ms, t, sizeof(t));
    session_say(ses, 0, "%s at %s", session_kind_label(kind), t);
    return 0;
}

void session_marker_undo(struct session *ses)
{
    Coachq__V1__Observation *d = ses->d;
    Coachq__V1__Marker *m;
    char t[24];

    if (d->n_markers == 0) {
        session_say(ses, 1, "no marker to undo");
        return;
    }
    m = d->markers[--d->n_markers];
    session_fmt_clock(m->offset_ms, t, sizeof(t));
    session_say(ses, 0, "undone: %s at %s", session_kind_label(m->kind), t);
    coachq__v1__marker__free_unpacked(m, NULL);
    if (d->n_markers == 0) {
        free(d->markers);
        d->markers = NULL;
    }
    ses->dirty = 1;
}

void session_action_delete(struct session *ses, size_t i)
{
    Coachq__V1__Observation *d = ses->d;

    if (i >= d->n_actions) {
        return;
    }
    coachq__v1__action__free_unpacked(d->actions[i], NULL);
    memmove(&d->actions[i], &d->actions[i + 1], (d->n_actions - i - 1) * sizeof(d->actions[0]));
    d->n_actions--;
    if (d->n_actions == 0) {
        free(d->actions);
        d->actions = NULL;
    }
    ses->dirty = 1;
}

/* The session length for the record: the clock's time, rounded up to a
 * whole second so that every marker falls inside it, and at least 1 s. */
void session_set_duration(struct session *ses, int64_t now)
{
    /* A recording's session is the recording, wherever its review stopped. */
    uint64_t ms =
        session_is_recording(ses) ? ses->d->recording->length_ms : session_clock_now(ses->s, now);
    uint64_t s = (ms + 999u) / 1000u;

    if (s < 1) {
        s = 1;
    }
    ses->d->duration_s = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    ses->dirty = 1;
}

/* Journals the session: committed and fsynced when it returns 0. A failure
 * is shown on every screen until a later save works; the keys go on
 * working, so nothing typed is refused because of a full disk, and
 * everything stays in memory (dirty stays set) while the main loop tries
 * again at every key and every SAVE_RETRY_MS. Quitting then needs the word
 * "discard" (SESSION_MODAL_DISCARD), which a working save turns back into the
 * ordinary question. */
int session_save(struct session *ses)
{
    int was = ses->save_rc;
    int rc;

    ses->s->updated_at_ms = session_now_ms();
    rc = localstore_session_save(ses->ls, ses->s);
    ses->save_rc = rc;
    if (rc == 0) {
        ses->dirty = 0;
        if (was < 0) {
            session_say(ses, 0, "saved again: everything typed is on disk now");
        }
        if (ses->modal == SESSION_MODAL_DISCARD) {
            ses->modal = SESSION_MODAL_QUIT;
        }
    } else {
        ses->save_retry_ms = session_now_ms() + SAVE_RETRY_MS;
    }
    return rc;
}

/* Whether every change is on disk: nothing would be lost by quitting. */
int session_journaled(const struct session *ses)
{
    return !ses->dirty && ses->save_rc == 0;
}

/* Removes the saved session once the server has the observation; a
 * failure is kept in clear_pending and tried again like a save. */
void session_clear_saved(struct session *ses)
{
    int rc = localstore_session_clear(ses->ls);

    ses->clear_rc = rc;
    ses->clear_pending = rc < 0;
    if (rc < 0) {
        ses->save_retry_ms = session_now_ms() + SAVE_RETRY_MS;
    }
}

/* q: the quit question, or, when the session cannot be journaled, the
 * question that needs the word "discard": quitting then loses it. */
void session_ask_quit(struct session *ses)
{
    if (!session_journaled(ses) && session_save(ses) < 0) {
        ses->modal = SESSION_MODAL_DISCARD;
        ses->discard[0] = '\0';
        return;
    }
    ses->modal = SESSION_MODAL_QUIT;
}

void session_set_phase(struct session *ses, enum session_phase p, uint32_t cursor)
{
    ses->s->phase = (uint32_t)p;
    ses->s->cursor = cursor;
    ses->dirty = 1;
}

/* Connects once; after a failure, stays offline for the rest of setup. */
int session_connect(struct session *ses)
{
    struct client_error e;
    int rc;

    if (ses->c != NULL) {
        return 0;
    }
    if (ses->offline) {
        return -ECONNREFUSED;
    }
    if (ses->o->conn == NULL) {
        ses->offline = 1;
        snprintf(ses->offline_why, sizeof(ses->offline_why), "no server configured");
        return -ECONNREFUSED;
    }
    memset(&e, 0, sizeof(e));
    rc = client_connect(ses->o->conn, &ses->c, &e);
    if (rc < 0) {
        ses->c = NULL;
        ses->offline = 1;
        ses->offline_refused = !session_code_is_transient(e.code);
        snprintf(ses->offline_why, sizeof(ses->offline_why), "%s", e.message);
        return rc;
    }
    return 0;
}

/* The setup's connection is not kept through the session: a live session
 * lasts longer than the server keeps an idle connection, and submitting
 * connects anew. */
void session_disconnect(struct session *ses)
{
    client_free(ses->c);
    ses->c = NULL;
}

/* Loads the rubric id/version into ui->rubric: from the cache when the
 * exact version is there (versions never change) unless prefer_server,
 * else from the server (and caches it), else the latest cached. */
static int load_rubric(struct session *ses, const char *id, uint32_t version, int prefer_server,
                       char *why, size_t whylen)
{
    Coachq__V1__Rubric *r = NULL;
    struct client_error e;
    int rc;

    if (!prefer_server && version != 0 && localstore_rubric_get(ses->ls, id, version, &r) == 0) {
        goto got;
    }
    if (session_connect(ses) == 0) {
        memset(&e, 0, sizeof(e));
        rc = client_rubric(ses->c, id, version, &r, &e);
        if (rc == 0) {
            rc = localstore_rubric_put(ses->ls, r);
            if (rc < 0) {
                session_say(ses, 1, "could not cache rubric %s: %s", id, error_strerror(rc));
            }
            goto got;
        }
        if (rc == -EREMOTEIO && e.code == COACHQ__V1__CODE__NOT_FOUND) {
            snprintf(why, whylen, "the server has no rubric %s%s", id,
                     version != 0 ? " in that version" : "");
            return -ENOENT;
        }
        if (rc != -EREMOTEIO) {
            ses->offline = 1;
            snprintf(ses->offline_why, sizeof(ses->offline_why), "%s", e.message);
            session_disconnect(ses);
        }
    }
    if (localstore_rubric_get(ses->ls, id, version, &r) == 0) {
        goto got;
    }
    snprintf(why, whylen, "rubric %s%s is not cached and the server %s (%s)", id,
             version != 0 ? " in that version" : "",
             ses->offline_refused ? "refused the connection" : "cannot be reached",
             ses->offline_why[0] != '\0' ? ses->offline_why : "offline");
    return -ENOENT;
got:
    if (ses->rubric != NULL) {
        coachq__v1__rubric__free_unpacked(ses->rubric, NULL);
    }
    ses->rubric = r;
    return 0;
}

static int rlist_add(struct session *ses, const Coachq__V1__Rubric *r)
{
    Coachq__V1__Rubric **arr;
    Coachq__V1__Rubric *c;

    c = session_pb_copy(&r->base);
    if (c == NULL) {
        return -ENOMEM;
    }
    arr = realloc(ses->rlist, (ses->n_rlist + 1) * sizeof(*arr));
    if (arr == NULL) {
        coachq__v1__rubric__free_unpacked(c, NULL);
        return -ENOMEM;
    }
    ses->rlist = arr;
    ses->rlist[ses->n_rlist++] = c;
    return 0;
}

static int rlist_cb(const Coachq__V1__Rubric *r, void *arg)
{
    return rlist_add(arg, r);
}

/* The rubrics to choose from: the server's (cached as they come), else the
 * cache's. */
int session_load_rubric_list(struct session *ses)
{
    Coachq__V1__RubricList *l = NULL;
    struct client_error e;
    int rc;

    if (session_connect(ses) == 0) {
        memset(&e, 0, sizeof(e));
        rc = client_rubrics(ses->c, &l, &e);
        if (rc == 0) {
            for (size_t i = 0; i < l->n_rubrics; i++) {
                (void)localstore_rubric_put(ses->ls, l->rubrics[i]);
                rc = rlist_add(ses, l->rubrics[i]);
                if (rc < 0) {
                    break;
                }
            }
            coachq__v1__rubric_list__free_unpacked(l, NULL);
            return rc;
        }
        if (rc != -EREMOTEIO) {
            ses->offline = 1;
            snprintf(ses->offline_why, sizeof(ses->offline_why), "%s", e.message);
            session_disconnect(ses);
        }
    }
    return localstore_rubric_list(ses->ls, rlist_cb, ses);
}

/* The people the observer may observe: the server's (cached), else the
 * cache's, else none (the observer types ids). try_server 0 uses the
 * server only when a connection is already open. */
static void load_people(struct session *ses, int try_server)
{
    Coachq__V1__PeopleList *p = NULL;
    struct client_error e;
    int rc;

    if ((ses->c != NULL || try_server) && session_connect(ses) == 0) {
        memset(&e, 0, sizeof(e));
        rc = client_people(ses->c, &p, &e);
        if (rc == 0) {
            (void)localstore_people_put(ses->ls, p);
            ses->people = p;
            ses->people_cached = 0;
            return;
        }
        if (rc != -EREMOTEIO) {
            ses->offline = 1;
            snprintf(ses->offline_why, sizeof(ses->offline_why), "%s", e.message);
            session_disconnect(ses);
        }
    }
    if (localstore_people_get(ses->ls, &p) == 0) {
        ses->people = p;
        ses->people_cached = 1;
    }
}

/* Whether the rating phase may go back to the live phase: only for a
 * session observed live here, not for an amendment or a fix. */
int session_can_go_live(const struct session *ses)
{
    return ses->o->amend == NULL && ses->o->fix == NULL && ses->d->amends.len == 0 &&
           ses->s->elapsed_ms > 0;
}

/* Where the cursor goes after a rating's evidence was written or not. */
void session_rating_advance(struct session *ses)
{
    if (ses->s->cursor + 1 < ses->rubric->n_behaviours) {
        ses->s->cursor++;
        ses->dirty = 1;
    }
}

/* Whether a step still needs the observer: during the first setup, steps
 * whose value is already set (by an option or an earlier answer) are
 * skipped; when changing details after the session (started_at set),
 * every step from coach on is shown. */
int session_step_needed(const struct session *ses, int step)
{
    const Coachq__V1__Observation *d = ses->d;

    if (d->started_at != 0) {
        /* The mode is the clock's: it is not changed after the session. */
        return step != SESSION_STEP_RUBRIC && step != SESSION_STEP_MODE;
    }
    switch (step) {
    case SESSION_STEP_RUBRIC:
        return d->rubric_id[0] == '\0' || ses->rubric == NULL;
    case SESSION_STEP_COACH:
        return d->coach_id[0] == '\0';
    case SESSION_STEP_COACHEE:
        return d->coachee_id[0] == '\0';
    case SESSION_STEP_TYPE:
        return d->session_type == 0;
    case SESSION_STEP_FOCUS:
        return d->focus == 0;
    default:
        return ses->mode_ask && d->recording == NULL && d->calibration_ref.len == 0 &&
               d->amends.len == 0;
    }
}

static void live_enter(struct session *ses, int64_t now)
{
    char check[SESSION_STATUS_MAX - 16];

    session_set_phase(ses, SESSION_PHASE_LIVE, 0);
    session_clock_start(ses, now);
    if (session_checks_words(ses, now, check, sizeof(check))) {
        /* Before the first marker, not after the scoring. */
        session_say(ses, 1, "check: %s", check);
        return;
    }
    session_say(ses, 0, "the clock runs: tap a key for each moment (? shows the keys)");
}

/* The first step from `from` on that needs the observer, or the end of
 * setup: into the live phase for a new session, back to the review after
 * changing details. */
int session_setup_next(struct session *ses, int from, int64_t now)
{
    /* Once coach and coachee are chosen, their open actions are shown for
     * the rest of setup and followed up after the ratings. */
    session_open_actions_load(ses);
    for (int st = from; st < SESSION_STEP_COUNT; st++) {
        if (session_step_needed(ses, st)) {
            session_set_phase(ses, SESSION_PHASE_SETUP, (uint32_t)st);
            ses->mode_ask = 1;
            return st;
        }
    }
    if (ses->d->started_at != 0) {
        session_set_phase(ses, SESSION_PHASE_REVIEW, 0);
    } else {
        live_enter(ses, now);
    }
    return -1;
}

int session_choose_rubric(struct session *ses, size_t i)
{
    if (ses->rubric != NULL) {
        coachq__v1__rubric__free_unpacked(ses->rubric, NULL);
    }
    ses->rubric = session_pb_copy(&ses->rlist[i]->base);
    if (ses->rubric == NULL || session_set_str(&ses->d->rubric_id, ses->rubric->id) < 0) {
        return -ENOMEM;
    }
    ses->d->rubric_version = ses->rubric->version;
    return 0;
}

int session_rating_enter(struct session *ses, uint32_t cursor)
{
    if (session_ratings_align(ses) < 0) {
        session_say(ses, 1, "out of memory");
        return -ENOMEM;
    }
    session_set_phase(ses, SESSION_PHASE_RATING, cursor < ses->rubric->n_behaviours ? cursor : 0);
    return 0;
}

void session_quit_saved(struct session *ses)
{
    if (!session_journaled(ses) && session_save(ses) < 0) {
        /* Never quit on a session only memory holds without the word. */
        ses->modal = SESSION_MODAL_DISCARD;
        ses->discard[0] = '\0';
        return;
    }
    snprintf(ses->final_msg, sizeof(ses->final_msg),
             "quit: the session is saved; coachq observe --resume continues it%s\n",
             ses->s->phase == SESSION_PHASE_LIVE && session_clock_running(ses->s)
                 ? " (the clock keeps running meanwhile)"
                 : "");
    ses->exit_code = 1;
    ses->done = 1;
}

/* A new, empty session with a fresh id and the preset choices. */
static int start_new(struct session *ses)
{
    const struct observe_opts *o = ses->o;
    Coachq__V1__LocalSession *s;
    Coachq__V1__Observation *d;

    s = malloc(sizeof(*s));
    d = malloc(sizeof(*d));
    if (s == NULL || d == NULL) {
        free(s);
        free(d);
        return -ENOMEM;
    }
    coachq__v1__local_session__init(s);
    coachq__v1__observation__init(d);
    s->draft = d;
    ses->s = s;
    ses->d = d;
    d->id.data = malloc(UUID_LEN);
    if (d->id.data == NULL) {
        return -ENOMEM;
    }
    d->id.len = UUID_LEN;
    if (uuid_generate(d->id.data) < 0) {
        return -EIO;
    }
    if (session_set_str(&s->server, o->server_label) < 0 ||
        session_set_str(&d->coach_id, o->coach_id) < 0 ||
        session_set_str(&d->coachee_id, o->coachee_id) < 0) {
        return -ENOMEM;
    }
    d->session_type = o->session_type;
    d->focus = o->focus;
    if (o->calibration_ref != NULL) {
        d->calibration_ref.data = malloc(UUID_LEN);
        if (d->calibration_ref.data == NULL) {
            return -ENOMEM;
        }
        memcpy(d->calibration_ref.data, o->calibration_ref, UUID_LEN);
        d->calibration_ref.len = UUID_LEN;
    }
    if (o->assignment_id != NULL) {
        d->assignment_id.data = malloc(UUID_LEN);
        if (d->assignment_id.data == NULL) {
            return -ENOMEM;
        }
        memcpy(d->assignment_id.data, o->assignment_id, UUID_LEN);
        d->assignment_id.len = UUID_LEN;
    }
    s->phase = SESSION_PHASE_SETUP;
    return 0;
}

/* The session for an amendment: the record's content under a new id,
 * amending the record's root, starting with its scores in the rating
 * phase. */
static int start_amend(struct session *ses, const Coachq__V1__StoredObservation *rec)
{
    const Coachq__V1__Observation *src = rec->observation;
    const ProtobufCBinaryData *root;
    int rc;

    if (src == NULL) {
        return -EINVAL;
    }
    rc = start_new(ses);
    if (rc < 0) {
        return rc;
    }
    coachq__v1__observation__free_unpacked(ses->d, NULL);
    ses->d = session_pb_copy(&src->base);
    ses->s->draft = ses->d;
    if (ses->d == NULL) {
        return -ENOMEM;
    }
    root = rec->root_id.len == UUID_LEN ? &rec->root_id : &src->id;
    if (root->len != UUID_LEN) {
        return -EINVAL;
    }
    free(ses->d->amends.data);
    ses->d->amends.data = malloc(UUID_LEN);
    if (ses->d->amends.data == NULL) {
        return -ENOMEM;
    }
    memcpy(ses->d->amends.data, root->data, UUID_LEN);
    ses->d->amends.len = UUID_LEN;
    if (ses->d->id.len != UUID_LEN) {
        free(ses->d->id.data);
        ses->d->id.data = malloc(UUID_LEN);
        if (ses->d->id.data == NULL) {
            return -ENOMEM;
        }
        ses->d->id.len = UUID_LEN;
    }
    if (uuid_generate(ses->d->id.data) < 0) {
        return -EIO;
    }
    ses->s->elapsed_ms = (uint64_t)ses->d->duration_s * 1000u;
    ses->s->phase = SESSION_PHASE_RATING;
    ses->s->cursor = 0;
    return 0;
}

/* The session for fixing a rejected outbox entry: the same observation
 * (same id), in the review phase, with the server's error on screen. */
static int start_fix(struct session *ses, const Coachq__V1__OutboxEntry *e)
{
    int rc;

    if (e->observation == NULL || e->observation->id.len != UUID_LEN) {
        return -EINVAL;
    }
    rc = start_new(ses);
    if (rc < 0) {
        return rc;
    }
    coachq__v1__observation__free_unpacked(ses->d, NULL);
    ses->d = session_pb_copy(&e->observation->base);
    ses->s->draft = ses->d;
    if (ses->d == NULL) {
        return -ENOMEM;
    }
    ses->s->elapsed_ms = (uint64_t)ses->d->duration_s * 1000u;
    ses->s->phase = SESSION_PHASE_REVIEW;
    if (e->last_error != NULL && e->state == COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED) {
        ses->refused = 1;
        ses->refusal.code = e->last_error->code;
        snprintf(ses->refusal.message, sizeof(ses->refusal.message), "%s", e->last_error->message);
        snprintf(ses->refusal.field, sizeof(ses->refusal.field), "%s", e->last_error->field);
        session_say(
            ses, 1,
            "b: go to what the server named, s: resubmit (same id), q: leave it in the outbox");
    }
    return 0;
}

/* A short description of a saved session, for the question at start. */
void session_saved_words(const struct session *ses, const Coachq__V1__LocalSession *s, char *buf,
                         size_t len)
{
    const Coachq__V1__Observation *d = s->draft;
    static const char *const phases[] = {"setup",   "setup",  "live",     "rating",
                                         "actions", "review", "follow-up"};
    char clk[24], c1[LABEL_MAX], c2[LABEL_MAX];

    session_fmt_clock(session_clock_now(s, session_now_ms()), clk, sizeof(clk));
    snprintf(buf, len, "%s -> %s, %zu %s, clock %s, in the %s phase",
             session_person_words(ses, d != NULL ? d->coach_id : NULL, c1, sizeof(c1)),
             session_person_words(ses, d != NULL ? d->coachee_id : NULL, c2, sizeof(c2)),
             d != NULL ? d->n_markers : 0,
             str_plural(d != NULL ? d->n_markers : 0, "marker", "markers"), clk,
             s->phase <= 6 ? phases[s->phase] : "setup");
}

/* Loads what the session needs that is not in it: its rubric, the people
 * (for names and the pickers), the rubric list (when it is still to be
 * chosen). Returns 0, or a negative code with why filled. */
static int load_for_session(struct session *ses, int fresh, char *why, size_t whylen)
{
    Coachq__V1__Observation *d = ses->d;
    int rc;

    if (d->rubric_id[0] != '\0') {
        rc = load_rubric(ses, d->rubric_id, d->rubric_version, fresh && d->rubric_version == 0, why,
                         whylen);
        if (rc < 0) {
            return rc;
        }
        if (d->rubric_version == 0) {
            d->rubric_version = ses->rubric->version;
        }
        if (strcmp(ses->rubric->id, d->rubric_id) != 0 ||
            (d->rubric_version != 0 && ses->rubric->version != d->rubric_version)) {
            snprintf(why, whylen, "rubric %s v%u could not be loaded", d->rubric_id,
                     d->rubric_version);
            return -ENOENT;
        }
    } else {
        rc = session_load_rubric_list(ses);
        if (rc < 0 || ses->n_rlist == 0) {
            snprintf(why, whylen, "no rubric to choose: none cached and the server %s",
                     ses->offline ? "cannot be reached" : "has none");
            return -ENOENT;
        }
    }
    /* The people list is worth a connection only when someone is still to
     * be chosen; otherwise it is used when the connection is open anyway,
     * or from the cache, for names. */
    if (fresh) {
        /* First, so that the people list below comes over the same
         * connection rather than from the cache while online. */
        session_checks_load(ses);
    }
    load_people(ses, fresh && (d->coach_id[0] == '\0' || d->coachee_id[0] == '\0'));
    /* On the same connection, when the pair is known already. */
    session_open_actions_load(ses);
    session_disconnect(ses);
    return 0;
}

int session_new(struct localstore *ls, const struct observe_opts *o, struct session **out)
{
    struct session *ses = calloc(1, sizeof(*ses));

    *out = NULL;
    if (ses == NULL) {
        return -ENOMEM;
    }
    ses->ls = ls;
    ses->o = o;
    ses->exit_code = 1;
    *out = ses;
    return 0;
}

void session_free(struct session *ses)
{
    if (ses == NULL) {
        return;
    }
    if (ses->s != NULL) {
        coachq__v1__local_session__free_unpacked(ses->s, NULL);
    }
    if (ses->cert != NULL) {
        coachq__v1__cert_status__free_unpacked(ses->cert, NULL);
    }
    if (ses->rubric != NULL) {
        coachq__v1__rubric__free_unpacked(ses->rubric, NULL);
    }
    for (size_t i = 0; i < ses->n_rlist; i++) {
        coachq__v1__rubric__free_unpacked(ses->rlist[i], NULL);
    }
    free(ses->rlist);
    if (ses->people != NULL) {
        coachq__v1__people_list__free_unpacked(ses->people, NULL);
    }
    if (ses->conflict != NULL) {
        coachq__v1__stored_observation__free_unpacked(ses->conflict, NULL);
    }
    session_open_actions_free(ses);
    client_free(ses->c);
    free(ses);
}

/* The state the session starts in: the saved session (resume), an
 * amendment, a fix, or a new session. */
int session_start(struct session *ses, Coachq__V1__LocalSession **saved, char *why, size_t whylen)
{
    const struct observe_opts *o = ses->o;
    Coachq__V1__StoredObservation *rec = NULL;
    int64_t now = session_now_ms();
    int fresh = 0;
    int kind = 0;
    int rc;

    if (*saved != NULL) {
        ses->s = *saved;
        *saved = NULL;
        if (ses->s->draft == NULL || ses->s->draft->id.len != UUID_LEN) {
            snprintf(why, whylen, "the saved session is damaged (no observation id)");
            return -EBADMSG;
        }
        ses->d = ses->s->draft;
        if (ses->s->phase < SESSION_PHASE_SETUP || ses->s->phase > SESSION_PHASE_FOLLOWUPS) {
            ses->s->phase = SESSION_PHASE_SETUP;
            ses->s->cursor = 0;
        }
        /* Quit during the setup: the mode is asked on resuming. */
        ses->mode_ask = ses->s->phase == SESSION_PHASE_SETUP;
        /* A full disk may have kept the session of an observation the
         * server stored from being cleared: never bring back a state the
         * server would refuse without saying so. */
        if (session_connect(ses) == 0) {
            kind = session_stored_copy(ses, ses->c, &rec);
        }
        session_recording_resume(ses);
    } else if (o->amend != NULL) {
        rc = start_amend(ses, o->amend);
        if (rc < 0) {
            snprintf(why, whylen, "cannot amend that record: %s", error_strerror(rc));
            return rc;
        }
    } else if (o->fix != NULL) {
        rc = start_fix(ses, o->fix);
        if (rc < 0) {
            snprintf(why, whylen, "cannot fix that outbox entry: %s", error_strerror(rc));
            return rc;
        }
    } else {
        rc = start_new(ses);
        if (rc < 0) {
            snprintf(why, whylen, "cannot start a session: %s", error_strerror(rc));
            return rc;
        }
        if (o->rubric_id != NULL && (rc = session_set_str(&ses->d->rubric_id, o->rubric_id)) < 0) {
            return rc;
        }
        ses->d->rubric_version = o->rubric_version;
        if (o->recording_ref != NULL &&
            (rc = session_recording_init(ses, o->recording_ref, o->recording_length_ms)) < 0) {
            return rc;
        }
        fresh = 1;
    }
    rc = load_for_session(ses, fresh, why, whylen);
    if (rc < 0) {
        return rc;
    }
    if (ses->s->phase >= SESSION_PHASE_RATING || ses->d->n_ratings > 0) {
        rc = session_ratings_align(ses);
        if (rc < 0) {
            snprintf(why, whylen, "out of memory");
            return rc;
        }
        if (ses->s->phase == SESSION_PHASE_RATING && ses->s->cursor >= ses->rubric->n_behaviours) {
            ses->s->cursor = 0;
        }
    }
    if (ses->s->phase == SESSION_PHASE_SETUP) {
        (void)session_setup_next(
            ses, (int)ses->s->cursor < SESSION_STEP_COUNT ? (int)ses->s->cursor : 0, now);
        if (ses->s->phase == SESSION_PHASE_SETUP && (int)ses->s->cursor == SESSION_STEP_RUBRIC &&
            ses->n_rlist == 0) {
            rc = session_load_rubric_list(ses);
            session_disconnect(ses);
            if (rc < 0 || ses->n_rlist == 0) {
                snprintf(why, whylen, "no rubric to choose: none cached, server unreachable");
                return -ENOENT;
            }
        }
    }
    if (ses->s->phase != SESSION_PHASE_SETUP) {
        session_open_actions_load(ses);
    }
    if (ses->s->phase == SESSION_PHASE_ACTIONS && ses->s->cursor >= ses->d->n_actions) {
        ses->s->cursor = 0;
    }
    if (ses->s->phase == SESSION_PHASE_FOLLOWUPS && ses->s->cursor >= session_fu_count(ses)) {
        ses->s->cursor = 0;
    }
    ses->dirty = 1;
    if (kind != 0) {
        session_stored_found(ses, kind, rec);
    }
    return 0;
}

void session_discard(struct session *ses)
{
    snprintf(ses->final_msg, sizeof(ses->final_msg),
             "discarded: the session could not be saved (%s); what was not saved is lost "
             "(coachq observe --resume continues from the last save, if there is one)\n",
             error_strerror(ses->save_rc < 0 ? ses->save_rc : -EIO));
    ses->dirty = 0;
    ses->exit_code = 3;
    ses->done = 1;
}

int session_rate(struct session *ses, uint32_t score)
{
    const Coachq__V1__Behaviour *b = ses->rubric->behaviours[ses->s->cursor];
    Coachq__V1__Rating *rt = ses->d->ratings[ses->s->cursor];

    rt->score = score;
    rt->not_applicable = 0;
    ses->dirty = 1;
    session_say(ses, 0, "%s: %u %s", b->name, rt->score, session_score_words[rt->score]);
    return session_needs_evidence(ses->rubric, rt->score) && rt->evidence[0] == '\0';
}

int session_rate_na(struct session *ses)
{
    const Coachq__V1__Behaviour *b = ses->rubric->behaviours[ses->s->cursor];
    Coachq__V1__Rating *rt = ses->d->ratings[ses->s->cursor];

    if (!b->allow_not_applicable) {
        session_say(ses, 1, "%s cannot be rated not applicable in this rubric", b->name);
        return -EPERM;
    }
    rt->score = 0;
    rt->not_applicable = 1;
    ses->dirty = 1;
    session_say(ses, 0, "%s: not applicable", b->name);
    return 0;
}
