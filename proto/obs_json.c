#include "obs_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "jsonx.h"
#include "recording_json.h"
#include "uuid.h"
#include "validate.h"

/* Largest duration and marker offset we convert, so that the multiplication
 * into seconds or milliseconds cannot overflow a uint32. */
#define MAX_DURATION_MIN (UINT32_MAX / 60.0)
#define MAX_OFFSET_S (UINT32_MAX / 1000.0)

/* Rounds a non-negative value already checked to fit to the nearest whole
 * number (without libm, which cq_proto does not link). */
static uint32_t round_u32(double v)
{
    double r = v + 0.5;

    return r >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* ---- enum names ---------------------------------------------------------- */

/* Indexed by the enum value; index 0 (UNSPECIFIED) has no name. */
static const char *const session_type_names[] = {
    NULL,           "deal_review",    "call_review",       "pipeline_review",
    "account_plan", "skill_practice", "personal_check_in",
};
static const char *const focus_names[] = {NULL, "process", "skill", "human"};
static const char *const action_owner_names[] = {NULL, "rep", "manager"};
static const char *const action_status_names[] = {NULL,          "open",     "done",
                                                  "partly_done", "not_done", "dropped"};
static const char *const marker_kind_names[] = {
    NULL,     "open_question",     "directive",         "evidence_asked",
    "praise", "rep_self_assessed", "manager_took_over", "action_agreed",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *enum_name(const char *const *names, size_t n, int v)
{
    if (v <= 0 || (size_t)v >= n) {
        return NULL;
    }
    return names[v];
}

static int enum_value(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 1; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *obs_json_session_type_name(int v)
{
    return enum_name(session_type_names, COUNT(session_type_names), v);
}

const char *obs_json_focus_name(int v)
{
    return enum_name(focus_names, COUNT(focus_names), v);
}

const char *obs_json_action_owner_name(int v)
{
    return enum_name(action_owner_names, COUNT(action_owner_names), v);
}

const char *obs_json_action_status_name(int v)
{
    return enum_name(action_status_names, COUNT(action_status_names), v);
}

const char *obs_json_marker_kind_name(int v)
{
    return enum_name(marker_kind_names, COUNT(marker_kind_names), v);
}

void obs_json_format_offset(uint32_t offset_ms, char *out, size_t outlen)
{
    uint32_t s = offset_ms / 1000;
    uint32_t ms = offset_ms % 1000;

    if (ms == 0) {
        snprintf(out, outlen, "%02u:%02u", s / 60, s % 60);
    } else {
        snprintf(out, outlen, "%02u:%02u.%03u", s / 60, s % 60, ms);
    }
}

/* "[h:]mm:ss[.fff]" to milliseconds. Minutes may pass 59 when there is no
 * hour part ("75:10"). Returns 0 or -EINVAL. */
static int parse_offset_string(const char *s, uint32_t *out)
{
    uint64_t parts[3];
    int np = 0;
    const char *p = s;
    uint64_t ms = 0;
    uint64_t total;

    for (;;) {
        char *end;
        unsigned long long v;

        if (*p < '0' || *p > '9' || np == 3) {
            return -EINVAL;
        }
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || v > 1000000) {
            return -EINVAL;
        }
        parts[np++] = v;
        p = end;
        if (*p != ':') {
            break;
        }
        p++;
    }
    if (np < 2) {
        return -EINVAL;
    }
    if (*p == '.') {
        uint64_t scale = 100;

        p++;
        if (*p < '0' || *p > '9') {
            return -EINVAL;
        }
        /* Only milliseconds are kept: more digits are refused rather than
         * rounded silently. */
        for (int i = 0; *p >= '0' && *p <= '9'; i++, p++) {
            if (i >= 3) {
                return -EINVAL;
            }
            ms += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0' || parts[np - 1] > 59 || (np == 3 && parts[1] > 59)) {
        return -EINVAL;
    }
    if (np == 3) {
        total = parts[0] * 3600 + parts[1] * 60 + parts[2];
    } else {
        total = parts[0] * 60 + parts[1];
    }
    total = total * 1000 + ms;
    if (total > UINT32_MAX) {
        return -EINVAL;
    }
    *out = (uint32_t)total;
    return 0;
}

int obs_json_parse_offset(const char *s, uint32_t *out_ms)
{
    return parse_offset_string(s, out_ms);
}

/* ---- parsing ------------------------------------------------------------- */

static char *dup_str(const char *s, size_t len)
{
    char *p = malloc(len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/*
 * Reads the string obj[key] into *out (a new malloc'd copy). Missing keys are
 * an error when required, otherwise *out is left alone. -ENOMEM on
 * allocation failure.
 */
static int get_string(struct jsonx_ctx *x, const json_t *obj, const char *prefix, const char *key,
                      int required, char **out)
{
    json_t *v;
    char path[128];
    const char *s;
    size_t len;
    size_t bad;
    char *copy;
    int rc;

    jsonx_join_path(path, sizeof(path), prefix, key);
    rc = jsonx_member(x, obj, key, path, required, &v);
    if (rc < 0 || v == NULL) {
        return rc;
    }
    if (!json_is_string(v)) {
        return jsonx_fail(x, path, "must be a string");
    }
    s = json_string_value(v);
    len = json_string_length(v);
    if (validate_text(s, len, 1, &bad) < 0) {
        return jsonx_fail(x, path, "%s", validate_text_problem(s, len, bad));
    }
    if (required && len == 0) {
        return jsonx_fail(x, path, "must not be empty");
    }
    copy = dup_str(s, len);
    if (copy == NULL) {
        return -ENOMEM;
    }
    *out = copy;
    return 0;
}

static int get_enum(struct jsonx_ctx *x, const json_t *obj, const char *prefix, const char *key,
                    int required, const char *const *names, size_t n, int *out)
{
    json_t *v;
    char path[128];
    char list[300];
    size_t used = 0;
    int e;

    jsonx_join_path(path, sizeof(path), prefix, key);
    e = jsonx_member(x, obj, key, path, required, &v);
    if (e < 0 || v == NULL) {
        return e;
    }
    if (json_is_string(v)) {
        e = enum_value(names, n, json_string_value(v));
        if (e > 0) {
            *out = e;
            return 0;
        }
    }
    list[0] = '\0';
    for (size_t i = 1; i < n && used < sizeof(list); i++) {
        int k = snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i > 1 ? ", " : "", names[i]);
        if (k < 0) {
            break;
        }
        used += (size_t)k;
    }
    return jsonx_fail(x, path, "must be one of %s", list);
}

/* Allocates a zeroed array of n pointers (n may be 0). */
static void *alloc_ptrs(size_t n)
{
    return calloc(n > 0 ? n : 1, sizeof(void *));
}

static const char *const rating_keys[] = {"behaviour", "score", "evidence", "evidence_offset",
                                          NULL};

static int parse_rating(struct jsonx_ctx *x, const json_t *j, const char *path,
                        Coachq__V1__Rating *r)
{
    json_t *score;
    char spath[128];
    int rc;

    if (!json_is_object(j)) {
        return jsonx_fail(x, path, "must be an object like {\"behaviour\": \"...\", \"score\": 3}");
    }
    rc = jsonx_check_keys(x, j, path, rating_keys);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, path, "behaviour", 1, &r->behaviour_id);
    if (rc < 0) {
        return rc;
    }
    jsonx_join_path(spath, sizeof(spath), path, "score");
    score = json_object_get(j, "score");
    if (score == NULL) {
        return jsonx_fail(x, spath, "missing; it is required (1..4 or \"n/a\")");
    }
    if (json_is_integer(score) && json_integer_value(score) >= 1 &&
        json_integer_value(score) <= 4) {
        r->score = (uint32_t)json_integer_value(score);
    } else if (json_is_string(score) && (strcmp(json_string_value(score), "n/a") == 0 ||
                                         strcmp(json_string_value(score), "N/A") == 0)) {
        r->not_applicable = 1;
        r->score = 0;
    } else {
        return jsonx_fail(x, spath, "must be 1..4 or \"n/a\"");
    }
    jsonx_join_path(spath, sizeof(spath), path, "evidence_offset");
    rc = recording_json_get_offset(x, j, "evidence_offset", spath, &r->evidence_offset_ms);
    if (rc < 0) {
        return rc;
    }
    return get_string(x, j, path, "evidence", 0, &r->evidence);
}

static const char *const marker_keys[] = {"kind", "offset", "note", "author", NULL};

static int parse_marker(struct jsonx_ctx *x, const json_t *j, const char *path,
                        Coachq__V1__Marker *m)
{
    json_t *off;
    char opath[128];
    int kind = 0;
    int rc;

    if (!json_is_object(j)) {
        return jsonx_fail(x, path,
                          "must be an object like {\"kind\": \"praise\", \"offset\": \"12:30\"}");
    }
    rc = jsonx_check_keys(x, j, path, marker_keys);
    if (rc < 0) {
        return rc;
    }
    rc = get_enum(x, j, path, "kind", 1, marker_kind_names, COUNT(marker_kind_names), &kind);
    if (rc < 0) {
        return rc;
    }
    m->kind = (Coachq__V1__MarkerKind)kind;
    jsonx_join_path(opath, sizeof(opath), path, "offset");
    off = json_object_get(j, "offset");
    if (off == NULL) {
        return jsonx_fail(x, opath, "missing; it is required (seconds, or \"mm:ss\")");
    }
    if (json_is_number(off)) {
        double sec = json_number_value(off);

        if (!(sec >= 0 && sec <= MAX_OFFSET_S)) {
            return jsonx_fail(x, opath, "must be seconds since the session start, 0 or more");
        }
        m->offset_ms = round_u32(sec * 1000.0);
    } else if (json_is_string(off)) {
        if (parse_offset_string(json_string_value(off), &m->offset_ms) < 0) {
            return jsonx_fail(x, opath,
                              "must be \"mm:ss\", \"h:mm:ss\" (optionally with .mmm) or "
                              "a number of seconds");
        }
    } else {
        return jsonx_fail(x, opath, "must be a number of seconds or \"mm:ss\"");
    }
    off = json_object_get(j, "author");
    if (off != NULL && !json_is_null(off)) {
        jsonx_join_path(opath, sizeof(opath), path, "author");
        kind = json_is_string(off) ? recording_author_value(json_string_value(off)) : -1;
        if (kind < 0) {
            return jsonx_fail(x, opath, "must be one of \"observer\", \"rep\", \"manager\"");
        }
        m->author = (Coachq__V1__RecordingAuthor)kind;
    }
    return get_string(x, j, path, "note", 0, &m->note);
}

static const char *const action_keys[] = {
    "text", "owner", "due", "id", "owner_kind", "focus_behaviours", "focus_skill", NULL};

static int get_uuid_at(struct jsonx_ctx *x, const json_t *obj, const char *prefix, const char *key,
                       ProtobufCBinaryData *out);

/* Reads an action's optional "focus_behaviours" (an array of behaviour
 * ids) into a. Returns 0, -EINVAL or -ENOMEM. */
static int get_focus(struct jsonx_ctx *x, const json_t *j, const char *path, Coachq__V1__Action *a)
{
    json_t *arr = json_object_get(j, "focus_behaviours");
    char fpath[160];
    size_t n;

    if (arr == NULL || json_is_null(arr)) {
        return 0;
    }
    jsonx_join_path(fpath, sizeof(fpath), path, "focus_behaviours");
    if (!json_is_array(arr)) {
        return jsonx_fail(x, fpath, "must be an array of behaviour ids, like [\"asks-open\"]");
    }
    n = json_array_size(arr);
    a->focus_behaviours = alloc_ptrs(n);
    if (a->focus_behaviours == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        char ipath[192];

        if (!json_is_string(v)) {
            jsonx_index_path(ipath, sizeof(ipath), fpath, i);
            return jsonx_fail(x, ipath, "must be a behaviour id (a string)");
        }
        a->focus_behaviours[i] = strdup(json_string_value(v));
        if (a->focus_behaviours[i] == NULL) {
            return -ENOMEM;
        }
        a->n_focus_behaviours++;
    }
    return 0;
}

/* The action fields added with action records: id, owner kind and focus. */
static int parse_action_more(struct jsonx_ctx *x, const json_t *j, const char *path,
                             Coachq__V1__Action *a)
{
    int e = 0;
    int rc;

    rc = get_uuid_at(x, j, path, "id", &a->id);
    if (rc < 0) {
        return rc;
    }
    rc = get_enum(x, j, path, "owner_kind", 0, action_owner_names, COUNT(action_owner_names), &e);
    if (rc < 0) {
        return rc;
    }
    a->owner = (Coachq__V1__ActionOwner)e;
    rc = get_focus(x, j, path, a);
    if (rc < 0) {
        return rc;
    }
    return get_string(x, j, path, "focus_skill", 0, &a->focus_skill);
}

static const char *const follow_up_keys[] = {"action", "status", "evidence", "at", NULL};

static int parse_follow_up(struct jsonx_ctx *x, const json_t *j, const char *path,
                           Coachq__V1__FollowUp *u)
{
    char apath[128];
    json_t *at;
    int e = 0;
    int rc;

    if (!json_is_object(j)) {
        return jsonx_fail(x, path,
                          "must be an object like {\"action\": \"<id>\", \"status\": \"done\"}");
    }
    rc = jsonx_check_keys(x, j, path, follow_up_keys);
    if (rc < 0) {
        return rc;
    }
    if (json_object_get(j, "action") == NULL) {
        jsonx_join_path(apath, sizeof(apath), path, "action");
        return jsonx_fail(x, apath, "missing; give the id of the action followed up");
    }
    rc = get_uuid_at(x, j, path, "action", &u->action_id);
    if (rc < 0) {
        return rc;
    }
    rc = get_enum(x, j, path, "status", 1, action_status_names, COUNT(action_status_names), &e);
    if (rc < 0) {
        return rc;
    }
    u->status = (Coachq__V1__ActionStatus)e;
    rc = get_string(x, j, path, "evidence", 0, &u->evidence);
    if (rc < 0) {
        return rc;
    }
    at = json_object_get(j, "at");
    if (at != NULL && !json_is_null(at)) {
        if (!json_is_string(at) || day_parse_time(json_string_value(at), &u->at) < 0) {
            jsonx_join_path(apath, sizeof(apath), path, "at");
            return jsonx_fail(x, apath, "must be an ISO-8601 time like \"2026-11-02T14:30:00Z\"");
        }
    }
    return 0;
}

static int parse_action(struct jsonx_ctx *x, const json_t *j, const char *path,
                        Coachq__V1__Action *a)
{
    json_t *due;
    char dpath[128];
    int rc;

    if (!json_is_object(j)) {
        return jsonx_fail(x, path, "must be an object like {\"text\": \"...\"}");
    }
    rc = jsonx_check_keys(x, j, path, action_keys);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, path, "text", 1, &a->text);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, path, "owner", 0, &a->owner_id);
    if (rc < 0) {
        return rc;
    }
    jsonx_join_path(dpath, sizeof(dpath), path, "due");
    due = json_object_get(j, "due");
    if (due != NULL && !json_is_null(due)) {
        if (!json_is_string(due) || day_parse(json_string_value(due), &a->due_day) < 0) {
            return jsonx_fail(x, dpath, "must be a date \"YYYY-MM-DD\"");
        }
        if (a->due_day == 0) {
            return jsonx_fail(x, dpath, "must be after 1970-01-01");
        }
    }
    return parse_action_more(x, j, path, a);
}

/* Checks that obj[key] is an array (or absent) and returns it. */
static int get_array(struct jsonx_ctx *x, const json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_array(v)) {
        return jsonx_fail(x, key, "must be an array");
    }
    *out = v;
    return 0;
}

/*
 * Reads the optional UUID string obj[key] into *out (a new 16-byte copy);
 * absent or null leaves *out alone. Returns 0, -EINVAL or -ENOMEM.
 */
static int get_uuid_at(struct jsonx_ctx *x, const json_t *obj, const char *prefix, const char *key,
                       ProtobufCBinaryData *out)
{
    json_t *v = json_object_get(obj, key);
    uint8_t id[UUID_LEN];
    char path[128];

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v) || uuid_parse(json_string_value(v), id) < 0) {
        jsonx_join_path(path, sizeof(path), prefix, key);
        return jsonx_fail(x, path, "must be a UUID like \"0b5e1c7a-3f6d-4e2b-9a41-6c0d2f8e7b13\"");
    }
    out->data = malloc(UUID_LEN);
    if (out->data == NULL) {
        return -ENOMEM;
    }
    memcpy(out->data, id, UUID_LEN);
    out->len = UUID_LEN;
    return 0;
}

static int get_uuid(struct jsonx_ctx *x, const json_t *obj, const char *key,
                    ProtobufCBinaryData *out)
{
    return get_uuid_at(x, obj, "", key, out);
}

/* Reads the required "rubric_version" of obj. Returns 0 or -EINVAL. */
static int get_rubric_version(struct jsonx_ctx *x, const json_t *obj, uint32_t *out)
{
    json_t *v = json_object_get(obj, "rubric_version");

    if (v == NULL) {
        return jsonx_fail(x, "rubric_version", "missing; it is required (e.g. 1)");
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX) {
        return jsonx_fail(x, "rubric_version", "must be a whole number, 1 or more");
    }
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/*
 * Parses the array obj[key] of ratings into *out / *n, allocating as it
 * goes so that the caller's free function releases a partial result.
 * Absent or null leaves *out alone unless required. Returns 0, -EINVAL or
 * -ENOMEM.
 */
static int get_ratings(struct jsonx_ctx *x, const json_t *obj, const char *key, int required,
                       Coachq__V1__Rating ***out, size_t *n)
{
    json_t *arr;
    char path[64];
    size_t len;
    int rc;

    rc = get_array(x, obj, key, &arr);
    if (rc < 0) {
        return rc;
    }
    if (arr == NULL) {
        return required ? jsonx_fail(x, key, "missing; it is required (an array of ratings)") : 0;
    }
    len = json_array_size(arr);
    if (required && len == 0) {
        return jsonx_fail(x, key, "must hold at least one rating");
    }
    *out = alloc_ptrs(len);
    if (*out == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        Coachq__V1__Rating *r = malloc(sizeof(*r));

        if (r == NULL) {
            return -ENOMEM;
        }
        coachq__v1__rating__init(r);
        (*out)[(*n)++] = r;
        jsonx_index_path(path, sizeof(path), key, i);
        rc = parse_rating(x, json_array_get(arr, i), path, r);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* The keys an observation may have. seq, received_at, observer, version,
 * root_id and superseded are written by obs_json_from_stored() and ignored
 * on input, so that the output of `coachq get --json` can be submitted again
 * as it is. */
static const char *const obs_keys[] = {
    "id",           "rubric",      "rubric_version", "coach",        "coachee",
    "session_type", "focus",       "started_at",     "duration_min", "ratings",
    "markers",      "actions",     "notes",          "amends",       "calibration_ref",
    "seq",          "received_at", "observer",       "version",      "root_id",
    "superseded",   "follow_ups",  "recording",      "assignment",   NULL,
};

/* Reads the required "started_at" and the optional "duration_min" of obj
 * into o. Returns 0 or -EINVAL. */
static int get_session_time(struct jsonx_ctx *x, const json_t *obj, Coachq__V1__Observation *o)
{
    json_t *v = json_object_get(obj, "started_at");

    if (v == NULL) {
        return jsonx_fail(x, "started_at",
                          "missing; it is required (e.g. \"2026-11-02T14:30:00Z\")");
    }
    if (!json_is_string(v) || day_parse_time(json_string_value(v), &o->started_at) < 0) {
        return jsonx_fail(x, "started_at",
                          "must be an ISO-8601 time like \"2026-11-02T14:30:00Z\" or "
                          "\"2026-11-02T15:30:00+01:00\"");
    }

    v = json_object_get(obj, "duration_min");
    if (v != NULL && !json_is_null(v)) {
        double min = json_is_number(v) ? json_number_value(v) : -1;

        if (!(min >= 0 && min <= MAX_DURATION_MIN)) {
            return jsonx_fail(x, "duration_min", "must be a number of minutes, 0 or more");
        }
        o->duration_s = round_u32(min * 60.0);
    }
    return 0;
}

/*
 * Parses the optional array "markers" of obj into o, allocating as it goes
 * (as get_ratings() does) so that obs_json_free() releases a partial
 * result. Returns 0, -EINVAL or -ENOMEM.
 */
static int get_markers(struct jsonx_ctx *x, const json_t *obj, Coachq__V1__Observation *o)
{
    json_t *arr;
    char path[64];
    size_t n;
    int rc;

    rc = get_array(x, obj, "markers", &arr);
    if (rc < 0 || arr == NULL) {
        return rc;
    }
    n = json_array_size(arr);
    o->markers = alloc_ptrs(n);
    if (o->markers == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Marker *m = malloc(sizeof(*m));

        if (m == NULL) {
            return -ENOMEM;
        }
        coachq__v1__marker__init(m);
        o->markers[o->n_markers++] = m;
        jsonx_index_path(path, sizeof(path), "markers", i);
        rc = parse_marker(x, json_array_get(arr, i), path, m);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* The same for the optional array "actions". */
static int get_actions(struct jsonx_ctx *x, const json_t *obj, Coachq__V1__Observation *o)
{
    json_t *arr;
    char path[64];
    size_t n;
    int rc;

    rc = get_array(x, obj, "actions", &arr);
    if (rc < 0 || arr == NULL) {
        return rc;
    }
    n = json_array_size(arr);
    o->actions = alloc_ptrs(n);
    if (o->actions == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Action *a = malloc(sizeof(*a));

        if (a == NULL) {
            return -ENOMEM;
        }
        coachq__v1__action__init(a);
        o->actions[o->n_actions++] = a;
        jsonx_index_path(path, sizeof(path), "actions", i);
        rc = parse_action(x, json_array_get(arr, i), path, a);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* The same for the optional array "follow_ups". */
static int get_follow_ups(struct jsonx_ctx *x, const json_t *obj, Coachq__V1__Observation *o)
{
    json_t *arr;
    char path[64];
    size_t n;
    int rc;

    rc = get_array(x, obj, "follow_ups", &arr);
    if (rc < 0 || arr == NULL) {
        return rc;
    }
    n = json_array_size(arr);
    o->follow_ups = alloc_ptrs(n);
    if (o->follow_ups == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__FollowUp *u = malloc(sizeof(*u));

        if (u == NULL) {
            return -ENOMEM;
        }
        coachq__v1__follow_up__init(u);
        o->follow_ups[o->n_follow_ups++] = u;
        jsonx_index_path(path, sizeof(path), "follow_ups", i);
        rc = parse_follow_up(x, json_array_get(arr, i), path, u);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* A jsonx_parse_cb for an Observation. The fields are read in a fixed
 * order (ids, rubric, people, kind of session, time, the lists, the notes),
 * and the first fault found is the one reported. */
static int parse_obs(struct jsonx_ctx *x, const json_t *j, void *msg)
{
    Coachq__V1__Observation *o = msg;
    int e = 0;
    int rc;

    rc = jsonx_check_keys(x, j, "", obs_keys);
    if (rc < 0) {
        return rc;
    }

    rc = get_uuid(x, j, "id", &o->id);
    if (rc < 0) {
        return rc;
    }
    rc = get_uuid(x, j, "amends", &o->amends);
    if (rc < 0) {
        return rc;
    }
    rc = get_uuid(x, j, "calibration_ref", &o->calibration_ref);
    if (rc < 0) {
        return rc;
    }
    rc = get_uuid(x, j, "assignment", &o->assignment_id);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, "", "rubric", 1, &o->rubric_id);
    if (rc < 0) {
        return rc;
    }
    rc = get_rubric_version(x, j, &o->rubric_version);
    if (rc < 0) {
        return rc;
    }

    rc = get_string(x, j, "", "coach", 1, &o->coach_id);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, "", "coachee", 1, &o->coachee_id);
    if (rc < 0) {
        return rc;
    }
    rc = get_enum(x, j, "", "session_type", 1, session_type_names, COUNT(session_type_names), &e);
    if (rc < 0) {
        return rc;
    }
    o->session_type = (Coachq__V1__SessionType)e;
    e = 0;
    rc = get_enum(x, j, "", "focus", 0, focus_names, COUNT(focus_names), &e);
    if (rc < 0) {
        return rc;
    }
    o->focus = (Coachq__V1__CoachingFocus)e;

    rc = get_session_time(x, j, o);
    if (rc < 0) {
        return rc;
    }
    rc = get_ratings(x, j, "ratings", 0, &o->ratings, &o->n_ratings);
    if (rc < 0) {
        return rc;
    }
    rc = get_markers(x, j, o);
    if (rc < 0) {
        return rc;
    }
    rc = get_actions(x, j, o);
    if (rc < 0) {
        return rc;
    }
    rc = get_follow_ups(x, j, o);
    if (rc < 0) {
        return rc;
    }
    rc = recording_json_get(x, j, 1, &o->recording);
    if (rc < 0) {
        return rc;
    }
    return get_string(x, j, "", "notes", 0, &o->notes);
}

/* obs_json_free() as a jsonx_free_cb. */
static void free_obs(void *msg)
{
    obs_json_free(msg);
}

int obs_json_parse(const json_t *j, Coachq__V1__Observation **out, char *err, size_t errlen)
{
    struct jsonx_ctx x;
    void *o;
    int rc;

    *out = NULL;
    jsonx_ctx_init(&x, err, errlen, "(record)");
    if (!json_is_object(j)) {
        return jsonx_fail(&x, "", "must be a JSON object");
    }
    rc = jsonx_parse_message(&x, j, &coachq__v1__observation__descriptor, parse_obs, free_obs, &o);
    *out = o;
    return rc;
}

/* Frees a string field unless it is protobuf-c's shared empty string. */
static void free_str(char *s)
{
    if (s != NULL && s != protobuf_c_empty_string) {
        free(s);
    }
}

/* Frees ratings made by get_ratings(), also a partial array. */
static void free_ratings(Coachq__V1__Rating **r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (r[i] != NULL) {
            free_str(r[i]->behaviour_id);
            free_str(r[i]->evidence);
            free(r[i]);
        }
    }
    free(r);
}

void obs_json_free(Coachq__V1__Observation *o)
{
    if (o == NULL) {
        return;
    }
    free(o->id.data);
    free(o->amends.data);
    free(o->calibration_ref.data);
    free(o->assignment_id.data);
    free_str(o->rubric_id);
    free_str(o->coach_id);
    free_str(o->coachee_id);
    free_str(o->notes);
    free_ratings(o->ratings, o->n_ratings);
    for (size_t i = 0; i < o->n_markers; i++) {
        if (o->markers[i] != NULL) {
            free_str(o->markers[i]->note);
            free(o->markers[i]);
        }
    }
    free(o->markers);
    for (size_t i = 0; i < o->n_actions; i++) {
        if (o->actions[i] != NULL) {
            free_str(o->actions[i]->text);
            free_str(o->actions[i]->owner_id);
            free_str(o->actions[i]->focus_skill);
            free(o->actions[i]->id.data);
            for (size_t j = 0; j < o->actions[i]->n_focus_behaviours; j++) {
                free(o->actions[i]->focus_behaviours[j]);
            }
            free(o->actions[i]->focus_behaviours);
            free(o->actions[i]);
        }
    }
    free(o->actions);
    for (size_t i = 0; i < o->n_follow_ups; i++) {
        if (o->follow_ups[i] != NULL) {
            free(o->follow_ups[i]->action_id.data);
            free_str(o->follow_ups[i]->evidence);
            free(o->follow_ups[i]);
        }
    }
    free(o->follow_ups);
    recording_json_free(o->recording);
    free(o);
}

/* ---- calibration references ---------------------------------------------- */

static const char *const reference_keys[] = {
    "id", "rubric", "rubric_version", "title", "master", "recording", NULL};

/* A jsonx_parse_cb for a CalibrationReference. */
static int parse_reference(struct jsonx_ctx *x, const json_t *j, void *msg)
{
    Coachq__V1__CalibrationReference *r = msg;
    int rc;

    rc = jsonx_check_keys(x, j, "", reference_keys);
    if (rc < 0) {
        return rc;
    }
    rc = get_uuid(x, j, "id", &r->id);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, "", "rubric", 1, &r->rubric_id);
    if (rc < 0) {
        return rc;
    }
    rc = get_rubric_version(x, j, &r->rubric_version);
    if (rc < 0) {
        return rc;
    }
    rc = get_string(x, j, "", "title", 1, &r->title);
    if (rc < 0) {
        return rc;
    }
    rc = get_ratings(x, j, "master", 1, &r->master, &r->n_master);
    if (rc < 0) {
        return rc;
    }
    return recording_json_get(x, j, 0, &r->recording);
}

/* obs_json_free_reference() as a jsonx_free_cb. */
static void free_reference(void *msg)
{
    obs_json_free_reference(msg);
}

int obs_json_parse_reference(const json_t *j, Coachq__V1__CalibrationReference **out, char *err,
                             size_t errlen)
{
    struct jsonx_ctx x;
    void *r;
    int rc;

    *out = NULL;
    jsonx_ctx_init(&x, err, errlen, "(reference)");
    if (!json_is_object(j)) {
        return jsonx_fail(&x, "", "must be a JSON object");
    }
    rc = jsonx_parse_message(&x, j, &coachq__v1__calibration_reference__descriptor, parse_reference,
                             free_reference, &r);
    *out = r;
    return rc;
}

void obs_json_free_reference(Coachq__V1__CalibrationReference *r)
{
    if (r == NULL) {
        return;
    }
    free(r->id.data);
    free_str(r->rubric_id);
    free_str(r->title);
    free_str(r->registered_by);
    free_ratings(r->master, r->n_master);
    recording_json_free(r->recording);
    free(r);
}

/* ---- rendering ----------------------------------------------------------- */

static int put_str(json_t *obj, const char *key, const char *s)
{
    return jsonx_put(obj, key, json_string(s != NULL ? s : ""));
}

/* Sets obj[key] to the UUID in id when it holds one; an empty id is not
 * written. Returns 0 or -1. */
static int put_uuid(json_t *obj, const char *key, const ProtobufCBinaryData *id)
{
    char s[UUID_STR_LEN];

    if (id->len != UUID_LEN) {
        return 0;
    }
    return put_str(obj, key, uuid_format(id->data, s));
}

/* Strings that are not valid UTF-8 cannot be JSON strings; jansson refuses
 * them, so they are written with invalid bytes replaced by '?'. */
static json_t *json_text(const char *s)
{
    json_t *v;
    char *copy;

    if (s == NULL) {
        s = "";
    }
    v = json_string(s);
    if (v != NULL) {
        return v;
    }
    copy = dup_str(s, strlen(s));
    if (copy == NULL) {
        return NULL;
    }
    for (char *p = copy; *p != '\0'; p++) {
        if ((unsigned char)*p >= 0x80) {
            *p = '?';
        }
    }
    v = json_string(copy);
    free(copy);
    return v;
}

/* An enum as its name, or as the bare number for values this client does
 * not know (a newer server). */
static json_t *json_enum(const char *name, int v)
{
    return name != NULL ? json_string(name) : json_integer(v);
}

static json_t *rating_json(const Coachq__V1__Rating *r)
{
    json_t *o = json_object();

    if (o == NULL) {
        return NULL;
    }
    if (jsonx_put(o, "behaviour", json_text(r->behaviour_id)) < 0 ||
        jsonx_put(o, "score", r->not_applicable ? json_string("n/a") : json_integer(r->score)) <
            0 ||
        (r->evidence != NULL && r->evidence[0] != '\0' &&
         jsonx_put(o, "evidence", json_text(r->evidence)) < 0)) {
        json_decref(o);
        return NULL;
    }
    if (r->evidence_offset_ms != 0) {
        char off[32];

        obs_json_format_offset(r->evidence_offset_ms, off, sizeof(off));
        if (put_str(o, "evidence_offset", off) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *marker_json(const Coachq__V1__Marker *m)
{
    json_t *o = json_object();
    char off[32];

    if (o == NULL) {
        return NULL;
    }
    obs_json_format_offset(m->offset_ms, off, sizeof(off));
    if (jsonx_put(o, "kind", json_enum(obs_json_marker_kind_name(m->kind), m->kind)) < 0 ||
        put_str(o, "offset", off) < 0 ||
        (m->note != NULL && m->note[0] != '\0' && jsonx_put(o, "note", json_text(m->note)) < 0) ||
        (m->author != COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_OBSERVER &&
         put_str(o, "author", recording_author_name(m->author)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Puts an action's id, owner kind and focus into o. Returns 0 or -1. */
static int action_more_json(json_t *o, const Coachq__V1__Action *a)
{
    json_t *arr;

    if (put_uuid(o, "id", &a->id) < 0) {
        return -1;
    }
    if (a->owner != COACHQ__V1__ACTION_OWNER__ACTION_OWNER_UNSPECIFIED &&
        jsonx_put(o, "owner_kind", json_enum(obs_json_action_owner_name(a->owner), a->owner)) < 0) {
        return -1;
    }
    if (a->n_focus_behaviours > 0) {
        arr = json_array();
        if (jsonx_put(o, "focus_behaviours", arr) < 0) {
            return -1;
        }
        for (size_t i = 0; i < a->n_focus_behaviours; i++) {
            if (json_array_append_new(arr, json_text(a->focus_behaviours[i])) < 0) {
                return -1;
            }
        }
    }
    if (a->focus_skill != NULL && a->focus_skill[0] != '\0' &&
        jsonx_put(o, "focus_skill", json_text(a->focus_skill)) < 0) {
        return -1;
    }
    return 0;
}

static json_t *action_json(const Coachq__V1__Action *a)
{
    json_t *o = json_object();
    char day[DAY_TIME_LEN];

    if (o == NULL) {
        return NULL;
    }
    if (jsonx_put(o, "text", json_text(a->text)) < 0 ||
        (a->owner_id != NULL && a->owner_id[0] != '\0' &&
         jsonx_put(o, "owner", json_text(a->owner_id)) < 0)) {
        json_decref(o);
        return NULL;
    }
    if (a->due_day != 0) {
        day_format(a->due_day, day, sizeof(day));
        if (put_str(o, "due", day) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    if (action_more_json(o, a) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *follow_up_json(const Coachq__V1__FollowUp *u)
{
    json_t *o = json_object();
    char buf[DAY_TIME_LEN];

    if (o == NULL) {
        return NULL;
    }
    if (put_uuid(o, "action", &u->action_id) < 0 ||
        jsonx_put(o, "status", json_enum(obs_json_action_status_name(u->status), u->status)) < 0 ||
        (u->evidence != NULL && u->evidence[0] != '\0' &&
         jsonx_put(o, "evidence", json_text(u->evidence)) < 0)) {
        json_decref(o);
        return NULL;
    }
    if (u->at != 0) {
        day_format_time(u->at, buf, sizeof(buf));
        if (put_str(o, "at", buf) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Appends the observation's keys to obj. Returns 0 or -1. */
static int obs_fill(json_t *obj, const Coachq__V1__Observation *o)
{
    char buf[DAY_TIME_LEN + UUID_STR_LEN];
    json_t *arr;

    if (put_uuid(obj, "id", &o->id) < 0 || put_uuid(obj, "amends", &o->amends) < 0 ||
        put_uuid(obj, "calibration_ref", &o->calibration_ref) < 0 ||
        put_uuid(obj, "assignment", &o->assignment_id) < 0) {
        return -1;
    }
    if (jsonx_put(obj, "rubric", json_text(o->rubric_id)) < 0 ||
        jsonx_put(obj, "rubric_version", json_integer(o->rubric_version)) < 0 ||
        jsonx_put(obj, "coach", json_text(o->coach_id)) < 0 ||
        jsonx_put(obj, "coachee", json_text(o->coachee_id)) < 0) {
        return -1;
    }
    if (o->session_type != COACHQ__V1__SESSION_TYPE__SESSION_TYPE_UNSPECIFIED &&
        jsonx_put(obj, "session_type",
                  json_enum(obs_json_session_type_name(o->session_type), o->session_type)) < 0) {
        return -1;
    }
    if (o->focus != COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_UNSPECIFIED &&
        jsonx_put(obj, "focus", json_enum(obs_json_focus_name(o->focus), o->focus)) < 0) {
        return -1;
    }
    day_format_time(o->started_at, buf, sizeof(buf));
    if (put_str(obj, "started_at", buf) < 0) {
        return -1;
    }
    /* Whole minutes as an integer; otherwise minutes to two decimals
     * (0.58, not 0.58333333333333337): a hundredth of a minute is 0.6 s,
     * so the value parses back to the same number of seconds. Printed
     * with JSON_REAL_PRECISION(OBS_JSON_REAL_PRECISION) it stays short. */
    if (o->duration_s % 60 == 0) {
        if (jsonx_put(obj, "duration_min", json_integer(o->duration_s / 60)) < 0) {
            return -1;
        }
    } else if (jsonx_put(obj, "duration_min", json_real(round_u32(o->duration_s / 0.6) / 100.0)) <
               0) {
        return -1;
    }

    arr = json_array();
    if (jsonx_put(obj, "ratings", arr) < 0) {
        return -1;
    }
    for (size_t i = 0; i < o->n_ratings; i++) {
        if (json_array_append_new(arr, rating_json(o->ratings[i])) < 0) {
            return -1;
        }
    }
    if (o->n_markers > 0) {
        arr = json_array();
        if (jsonx_put(obj, "markers", arr) < 0) {
            return -1;
        }
        for (size_t i = 0; i < o->n_markers; i++) {
            if (json_array_append_new(arr, marker_json(o->markers[i])) < 0) {
                return -1;
            }
        }
    }
    if (o->n_actions > 0) {
        arr = json_array();
        if (jsonx_put(obj, "actions", arr) < 0) {
            return -1;
        }
        for (size_t i = 0; i < o->n_actions; i++) {
            if (json_array_append_new(arr, action_json(o->actions[i])) < 0) {
                return -1;
            }
        }
    }
    if (o->n_follow_ups > 0) {
        arr = json_array();
        if (jsonx_put(obj, "follow_ups", arr) < 0) {
            return -1;
        }
        for (size_t i = 0; i < o->n_follow_ups; i++) {
            if (json_array_append_new(arr, follow_up_json(o->follow_ups[i])) < 0) {
                return -1;
            }
        }
    }
    if (o->notes != NULL && o->notes[0] != '\0' &&
        jsonx_put(obj, "notes", json_text(o->notes)) < 0) {
        return -1;
    }
    if (o->recording != NULL && jsonx_put(obj, "recording", recording_json(o->recording)) < 0) {
        return -1;
    }
    return 0;
}

json_t *obs_json_from_observation(const Coachq__V1__Observation *o)
{
    json_t *obj = json_object();

    if (obj == NULL) {
        return NULL;
    }
    if (obs_fill(obj, o) < 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *obs_json_from_stored(const Coachq__V1__StoredObservation *s)
{
    json_t *obj = json_object();
    json_t *ret = NULL;
    char t[DAY_TIME_LEN];

    if (obj == NULL) {
        goto out;
    }
    day_format_time_ms(s->received_at_ms, t, sizeof(t));
    if ((s->observation != NULL && obs_fill(obj, s->observation) < 0) ||
        jsonx_put(obj, "seq", json_integer((json_int_t)s->seq)) < 0 ||
        put_str(obj, "received_at", t) < 0 ||
        jsonx_put(obj, "observer", json_text(s->observer_id)) < 0) {
        goto out;
    }
    /* A server from before amendments sends no version: nothing is written
     * then, rather than a version 0 that no record has. */
    if ((s->version != 0 && jsonx_put(obj, "version", json_integer(s->version)) < 0) ||
        put_uuid(obj, "root_id", &s->root_id) < 0 ||
        (s->version != 0 && jsonx_put(obj, "superseded", json_boolean(s->superseded)) < 0)) {
        goto out;
    }
    ret = obj;
    obj = NULL;
out:
    json_decref(obj);
    return ret;
}
