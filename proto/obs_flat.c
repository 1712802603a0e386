/*
 * obs_flat: a stored observation version as one flat NDJSON or CSV line
 * (obs_flat.h has the schema).
 */
#include "obs_flat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "day.h"
#include "obs_json.h"
#include "uuid.h"

static const char *const flat_columns[] = {
    "seq",         "id",         "root_id",        "version",    "superseded",      "received_at",
    "observer_id", "rubric_id",  "rubric_version", "coach_id",   "coachee_id",      "session_type",
    "focus",       "started_at", "session_day",    "duration_s", "calibration_ref", "amends",
    "notes",       "n_markers",  "ratings",        "actions",    "recording",
};

#define FLAT_NCOL (sizeof(flat_columns) / sizeof(flat_columns[0]))

/* A JSON string of s (NULL: ""); jansson refuses invalid UTF-8, which the
 * server never stores (validate.c), so that is an error here. */
static json_t *text(const char *s)
{
    return json_string(s != NULL ? s : "");
}

/* The UUID text of a 16-byte id, or NULL (JSON null) for any other length. */
static json_t *uuid_or_null(const ProtobufCBinaryData *b)
{
    char s[UUID_STR_LEN];

    if (b->len != UUID_LEN) {
        return json_null();
    }
    return json_string(uuid_format(b->data, s));
}

static json_t *enum_or_null(const char *name, int v)
{
    if (v == 0) {
        return json_null();
    }
    return name != NULL ? json_string(name) : json_integer(v);
}

static json_t *ratings_json(const Coachq__V1__Observation *o)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < o->n_ratings; i++) {
        const Coachq__V1__Rating *r = o->ratings[i];
        json_t *e =
            json_pack("{s:o, s:o, s:b, s:o}", "behaviour_id", text(r->behaviour_id), "score",
                      r->not_applicable || r->score == 0 ? json_null() : json_integer(r->score),
                      "not_applicable", (int)r->not_applicable, "evidence", text(r->evidence));
        if (e == NULL || json_array_append_new(arr, e) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *actions_json(const Coachq__V1__Observation *o)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < o->n_actions; i++) {
        const Coachq__V1__Action *a = o->actions[i];
        char day[16];
        json_t *e;

        day_format(a->due_day, day, sizeof(day));
        e = json_pack("{s:o, s:o, s:o}", "text", text(a->text), "owner_id", text(a->owner_id),
                      "due_day", a->due_day != 0 ? json_string(day) : json_null());
        if (e == NULL || json_array_append_new(arr, e) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* A stage's time as ISO-8601 UTC, or JSON null while it has not happened. */
static json_t *stage_or_null(int64_t t)
{
    char buf[40];

    if (t == 0) {
        return json_null();
    }
    day_format_time(t, buf, sizeof(buf));
    return json_string(buf);
}

/* How many of o's markers author wrote. */
static json_int_t markers_by(const Coachq__V1__Observation *o, Coachq__V1__RecordingAuthor author)
{
    json_int_t n = 0;

    for (size_t i = 0; i < o->n_markers; i++) {
        n += o->markers[i]->author == author;
    }
    return n;
}

/* A recorded session's recording and review, or JSON null for a live one. */
static json_t *recording_flat(const Coachq__V1__Observation *o)
{
    const Coachq__V1__Recording *r = o->recording;

    if (r == NULL) {
        return json_null();
    }
    return json_pack(
        "{s:o, s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:I}", "reference", text(r->reference),
        "length_ms", (json_int_t)r->length_ms, "picked_at", stage_or_null(r->picked_at),
        "rep_commented_at", stage_or_null(r->rep_commented_at), "manager_commented_at",
        stage_or_null(r->manager_commented_at), "discussed_at", stage_or_null(r->discussed_at),
        "rep_comments", markers_by(o, COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_REP),
        "manager_comments", text(r->manager_comments), "manager_markers",
        markers_by(o, COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_MANAGER));
}

/* The whole flat record as a JSON object in column order, or NULL. */
static json_t *flat_object(const Coachq__V1__StoredObservation *r, int32_t session_day)
{
    static const Coachq__V1__Observation empty = COACHQ__V1__OBSERVATION__INIT;
    const Coachq__V1__Observation *o = r->observation != NULL ? r->observation : &empty;
    char received[40], started[40], day[16];
    json_t *vals[FLAT_NCOL];
    json_t *obj = json_object();
    size_t i = 0;
    int ok = obj != NULL;

    day_format_time_ms(r->received_at_ms, received, sizeof(received));
    day_format_time(o->started_at, started, sizeof(started));
    day_format(session_day, day, sizeof(day));
    vals[i++] = json_integer((json_int_t)r->seq);
    vals[i++] = uuid_or_null(&o->id);
    vals[i++] = r->root_id.len == UUID_LEN ? uuid_or_null(&r->root_id) : uuid_or_null(&o->id);
    vals[i++] = json_integer(r->version != 0 ? r->version : 1);
    vals[i++] = json_boolean(r->superseded);
    vals[i++] = json_string(received);
    vals[i++] = text(r->observer_id);
    vals[i++] = text(o->rubric_id);
    vals[i++] = json_integer(o->rubric_version);
    vals[i++] = text(o->coach_id);
    vals[i++] = text(o->coachee_id);
    vals[i++] = enum_or_null(obs_json_session_type_name(o->session_type), o->session_type);
    vals[i++] = enum_or_null(obs_json_focus_name(o->focus), o->focus);
    vals[i++] = json_string(started);
    vals[i++] = json_string(day);
    vals[i++] = json_integer(o->duration_s);
    vals[i++] = uuid_or_null(&o->calibration_ref);
    vals[i++] = uuid_or_null(&o->amends);
    vals[i++] = text(o->notes);
    /* The observer's markers only, as the aggregates count them: the rep's
     * and the manager's comments on a recording are counted in recording. */
    vals[i++] =
        json_integer(markers_by(o, COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_OBSERVER));
    vals[i++] = ratings_json(o);
    vals[i++] = actions_json(o);
    vals[i++] = recording_flat(o);
    for (i = 0; i < FLAT_NCOL; i++) {
        if (vals[i] == NULL) {
            ok = 0;
        } else if (ok && json_object_set_new(obj, flat_columns[i], vals[i]) < 0) {
            ok = 0;
        } else if (!ok) {
            json_decref(vals[i]);
        }
    }
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* Appends s (len bytes) as a quoted CSV field to b. */
static int csv_quoted(struct buf *b, const char *s, size_t len)
{
    int rc = buf_append(b, "\"", 1);

    while (rc == 0 && len > 0) {
        const char *q = memchr(s, '"', len);
        size_t n = q != NULL ? (size_t)(q - s) + 1 : len;

        rc = buf_append(b, s, n);
        if (rc == 0 && q != NULL) {
            rc = buf_append(b, "\"", 1);
        }
        s += n;
        len -= n;
    }
    return rc == 0 ? buf_append(b, "\"", 1) : rc;
}

/* Appends one JSON value as a CSV field: null empty, strings quoted,
 * numbers and booleans plain, arrays as quoted compact JSON. */
static int csv_value(struct buf *b, const json_t *v)
{
    char num[32];
    char *s;
    int rc;

    switch (json_typeof(v)) {
    case JSON_NULL:
        return 0;
    case JSON_STRING:
        return csv_quoted(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf_append(b, num, strlen(num));
    case JSON_TRUE:
        return buf_append(b, "true", 4);
    case JSON_FALSE:
        return buf_append(b, "false", 5);
    default:
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (s == NULL) {
            return -ENOMEM;
        }
        rc = csv_quoted(b, s, strlen(s));
        free(s);
        return rc;
    }
}

int obs_flat_header(enum obs_flat_format f, struct buf *b)
{
    size_t start = b->len;
    int rc = 0;

    if (f != OBS_FLAT_CSV) {
        return 0;
    }
    for (size_t i = 0; i < FLAT_NCOL && rc == 0; i++) {
        if (i > 0) {
            rc = buf_append(b, ",", 1);
        }
        if (rc == 0) {
            rc = buf_append(b, flat_columns[i], strlen(flat_columns[i]));
        }
    }
    if (rc == 0) {
        rc = buf_append(b, "\n", 1);
    }
    if (rc < 0) {
        b->len = start;
    }
    return rc;
}

int obs_flat_line(enum obs_flat_format f, const Coachq__V1__StoredObservation *r,
                  int32_t session_day, struct buf *b)
{
    json_t *obj = flat_object(r, session_day);
    size_t start = b->len;
    int rc = 0;

    if (obj == NULL) {
        return -ENOMEM;
    }
    if (f == OBS_FLAT_NDJSON) {
        char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        rc = s != NULL ? buf_append(b, s, strlen(s)) : -ENOMEM;
        free(s);
    } else {
        for (size_t i = 0; i < FLAT_NCOL && rc == 0; i++) {
            if (i > 0) {
                rc = buf_append(b, ",", 1);
            }
            if (rc == 0) {
                rc = csv_value(b, json_object_get(obj, flat_columns[i]));
            }
        }
    }
    if (rc == 0) {
        rc = buf_append(b, "\n", 1);
    }
    if (rc < 0) {
        b->len = start;
    }
    json_decref(obj);
    return rc;
}
