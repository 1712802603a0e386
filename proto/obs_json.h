/*
 * obs_json: observations as JSON, the format people write and read
 * (documented in docs/observation-json.md).
 *
 * Enums are lower-case names ("deal_review"), times are ISO-8601 UTC
 * ("2026-11-02T14:30:00Z"), dates are "YYYY-MM-DD", the id is a canonical
 * UUID string, a rating is {"behaviour": "...", "score": 3} or
 * {"behaviour": "...", "score": "n/a"}.
 */
#ifndef COACHQ_OBS_JSON_H
#define COACHQ_OBS_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "coachq.pb-c.h"

/*
 * Converts one JSON object to an Observation. On success returns 0 and sets
 * *out (caller owns, free with obs_json_free()). A missing "id" leaves
 * out->id empty (the caller generates one). On failure returns -EINVAL and
 * writes "field: reason" into err (size errlen). j is borrowed for the call.
 */
int obs_json_parse(const json_t *j, Coachq__V1__Observation **out, char *err, size_t errlen);

/* Frees an observation made by obs_json_parse(). NULL-safe. */
void obs_json_free(Coachq__V1__Observation *o);

/* Returns a new JSON object for o (caller owns, json_decref()), or NULL on
 * out-of-memory. o is borrowed for the call. */
json_t *obs_json_from_observation(const Coachq__V1__Observation *o);

/* As obs_json_from_observation(), plus "seq", "received_at" and "observer". */
json_t *obs_json_from_stored(const Coachq__V1__StoredObservation *s);

/* Civil-time helpers shared by the JSON and text renderers. */
int obs_json_parse_time(const char *s, int64_t *out);          /* ISO-8601 UTC */
void obs_json_format_time(int64_t t, char *out, size_t outlen); /* "YYYY-MM-DDTHH:MM:SSZ" */
int obs_json_parse_day(const char *s, uint32_t *out);          /* "YYYY-MM-DD" */
void obs_json_format_day(uint32_t day, char *out, size_t outlen);

#endif
