#include "recording_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "obs_json.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const author_names[] = {"observer", "rep", "manager"};

static const char *const stage_keys[] = {"picked_at", "rep_commented_at", "manager_commented_at",
                                         "discussed_at"};

static const char *const recording_keys[] = {"reference",        "length",
                                             "manager_comments", "picked_at",
                                             "rep_commented_at", "manager_commented_at",
                                             "discussed_at",     NULL};

static const char *const reference_recording_keys[] = {"reference", "length", NULL};

const char *recording_author_name(int v)
{
    return v >= 0 && (size_t)v < COUNT(author_names) ? author_names[v] : NULL;
}

int recording_author_value(const char *s)
{
    for (size_t i = 0; i < COUNT(author_names); i++) {
        if (strcmp(s, author_names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int recording_json_get_offset(struct jsonx_ctx *x, const json_t *obj, const char *key,
                              const char *path, uint32_t *out_ms)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (json_is_number(v)) {
        double sec = json_number_value(v);

        if (!(sec >= 0 && sec <= UINT32_MAX / 1000.0)) {
            return jsonx_fail(x, path, "must be seconds from the recording's start, 0 or more");
        }
        *out_ms = (uint32_t)(sec * 1000.0 + 0.5);
        return 0;
    }
    if (json_is_string(v) && obs_json_parse_offset(json_string_value(v), out_ms) == 0) {
        return 0;
    }
    return jsonx_fail(x, path,
                      "must be \"mm:ss\", \"h:mm:ss\" (optionally with .mmm) or a number of "
                      "seconds");
}

/* Reads the optional string obj[key] (any text; validate.c checks it) into
 * a new copy at *out. */
static int get_text(struct jsonx_ctx *x, const json_t *obj, const char *key, char **out)
{
    json_t *v = json_object_get(obj, key);
    char path[64];

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    jsonx_join_path(path, sizeof(path), "recording", key);
    if (!json_is_string(v)) {
        return jsonx_fail(x, path, "must be a string");
    }
    *out = malloc(json_string_length(v) + 1);
    if (*out == NULL) {
        return -ENOMEM;
    }
    memcpy(*out, json_string_value(v), json_string_length(v));
    (*out)[json_string_length(v)] = '\0';
    return 0;
}

/* Reads the optional ISO-8601 time obj[key] into *out. */
static int get_time(struct jsonx_ctx *x, const json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    char path[64];

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    jsonx_join_path(path, sizeof(path), "recording", key);
    if (!json_is_string(v) || day_parse_time(json_string_value(v), out) < 0) {
        return jsonx_fail(x, path,
                          "must be an ISO-8601 time like \"2026-11-02T14:30:00Z\", or null "
                          "while the stage has not happened");
    }
    return 0;
}

int recording_json_get(struct jsonx_ctx *x, const json_t *obj, int workflow,
                       Coachq__V1__Recording **out)
{
    json_t *j = json_object_get(obj, "recording");
    Coachq__V1__Recording *r;
    int64_t *at[4];
    int rc;

    if (j == NULL || json_is_null(j)) {
        return 0;
    }
    if (!json_is_object(j)) {
        return jsonx_fail(x, "recording",
                          "must be an object like {\"reference\": \"https://...\", "
                          "\"length\": \"34:10\"}");
    }
    rc = jsonx_check_keys(x, j, "recording", workflow ? recording_keys : reference_recording_keys);
    if (rc < 0) {
        return rc;
    }
    r = malloc(sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    coachq__v1__recording__init(r);
    *out = r;
    if (json_object_get(j, "reference") == NULL) {
        return jsonx_fail(x, "recording.reference",
                          "missing; give the recording's URL or CRM call id");
    }
    rc = get_text(x, j, "reference", &r->reference);
    if (rc < 0) {
        return rc;
    }
    if (json_object_get(j, "length") == NULL) {
        return jsonx_fail(x, "recording.length",
                          "missing; give the recording's length (\"mm:ss\")");
    }
    rc = recording_json_get_offset(x, j, "length", "recording.length", &r->length_ms);
    if (rc < 0) {
        return rc;
    }
    rc = get_text(x, j, "manager_comments", &r->manager_comments);
    if (rc < 0) {
        return rc;
    }
    at[0] = &r->picked_at;
    at[1] = &r->rep_commented_at;
    at[2] = &r->manager_commented_at;
    at[3] = &r->discussed_at;
    for (size_t i = 0; i < COUNT(stage_keys); i++) {
        rc = get_time(x, j, stage_keys[i], at[i]);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

void recording_json_free(Coachq__V1__Recording *r)
{
    if (r == NULL) {
        return;
    }
    if (r->reference != protobuf_c_empty_string) {
        free(r->reference);
    }
    if (r->manager_comments != protobuf_c_empty_string) {
        free(r->manager_comments);
    }
    free(r);
}

json_t *recording_json(const Coachq__V1__Recording *r)
{
    json_t *o = json_object();
    const int64_t at[4] = {r->picked_at, r->rep_commented_at, r->manager_commented_at,
                           r->discussed_at};
    char buf[DAY_TIME_LEN];
    int rc = 0;

    if (o == NULL) {
        return NULL;
    }
    obs_json_format_offset(r->length_ms, buf, sizeof(buf));
    if (jsonx_put(o, "reference", json_string(r->reference != NULL ? r->reference : "")) < 0 ||
        jsonx_put(o, "length", json_string(buf)) < 0) {
        rc = -1;
        goto out;
    }
    if (r->manager_comments != NULL && r->manager_comments[0] != '\0' &&
        jsonx_put(o, "manager_comments", json_string(r->manager_comments)) < 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < COUNT(stage_keys) && rc == 0; i++) {
        if (at[i] != 0) {
            day_format_time(at[i], buf, sizeof(buf));
            rc = jsonx_put(o, stage_keys[i], json_string(buf));
        }
    }
out:
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
