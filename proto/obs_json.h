/*
 * obs_json: observations as JSON, the format people write and read
 * (documented in docs/observation-json.md).
 *
 * Enums are lower-case names ("deal_review"), times are ISO-8601 UTC
 * ("2026-11-02T14:30:00Z"), dates are "YYYY-MM-DD", the id is a canonical
 * UUID string, a rating is {"behaviour": "...", "score": 3} or
 * {"behaviour": "...", "score": "n/a"}. Unknown keys are errors that name
 * the key, so a typo never silently drops data. Everything
 * obs_json_from_observation() writes, obs_json_parse() reads back to the same
 * Observation. Calibration reference sessions, which an enablement lead
 * registers with `coachq reference add`, use the same rating form for their
 * master scores.
 *
 * No state: every function is safe from any thread on its own arguments.
 */
#ifndef COACHQ_OBS_JSON_H
#define COACHQ_OBS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "coachq.pb-c.h"

/*
 * Converts one JSON object to an Observation. On success returns 0 and sets
 * *out (caller owns, free with obs_json_free()). A missing "id" leaves
 * out->id empty (the caller generates one). On failure returns -EINVAL (or
 * -ENOMEM) and writes "field: reason" into err (size errlen), e.g.
 * "ratings[2].score: must be 1..4 or \"n/a\"". j is borrowed for the call.
 * "amends" and "calibration_ref" are UUIDs (an amendment's original, a
 * calibration attempt's reference session); absent leaves them empty. The
 * keys "seq", "received_at", "observer", "version", "root_id" and
 * "superseded" (written by obs_json_from_stored()) are accepted and ignored.
 */
int obs_json_parse(const json_t *j, Coachq__V1__Observation **out, char *err, size_t errlen);

/* The digits an observation's reals need when dumped (json_dumps() flag
 * JSON_REAL_PRECISION(OBS_JSON_REAL_PRECISION)): "duration_min" has two
 * decimals, and jansson's default of 17 digits would print 0.58 as
 * 0.57999999999999996. */
#define OBS_JSON_REAL_PRECISION 15

/* Frees an observation made by obs_json_parse(). NULL-safe. */
void obs_json_free(Coachq__V1__Observation *o);

/* Returns a new JSON object for o (caller owns, json_decref()), or NULL on
 * out-of-memory. o is borrowed for the call. */
json_t *obs_json_from_observation(const Coachq__V1__Observation *o);

/* As obs_json_from_observation(), plus "seq", "received_at" and "observer",
 * "version" (when the server sent one), "root_id" (when set) and, with a
 * version, "superseded" (true when a later version exists, else false). s is borrowed for
 * the call; the caller owns the result (json_decref()), NULL on
 * out-of-memory. */
json_t *obs_json_from_stored(const Coachq__V1__StoredObservation *s);

/*
 * Converts one JSON calibration reference to a CalibrationReference:
 *   {"id": "<uuid>",                  (optional: the caller generates one)
 *    "rubric": "coaching-conversation", "rubric_version": 1,
 *    "title": "...",
 *    "master": [{"behaviour": "...", "score": 3}, ...]}   (one or more)
 * Master ratings have exactly the form of an observation's ratings. Results,
 * errors and ownership as obs_json_parse(): on success *out is set (caller
 * owns, free with obs_json_free_reference()); errors name the field, e.g.
 * "master[1].score: must be 1..4 or \"n/a\"" or "title: missing; it is
 * required". registered_by and registered_at_ms are left for the server.
 */
int obs_json_parse_reference(const json_t *j, Coachq__V1__CalibrationReference **out, char *err,
                             size_t errlen);

/* Frees a reference made by obs_json_parse_reference(). NULL-safe. */
void obs_json_free_reference(Coachq__V1__CalibrationReference *r);

/* A marker offset in ms as "mm:ss" or "mm:ss.mmm" (minutes may pass 59),
 * into out (outlen bytes, always NUL-terminated, cut if shorter). */
void obs_json_format_offset(uint32_t offset_ms, char *out, size_t outlen);

/* Parses "[h:]mm:ss[.fff]" into milliseconds. Returns 0 or -EINVAL. */
int obs_json_parse_offset(const char *s, uint32_t *out_ms);

/* The JSON names of enum values ("deal_review", "process", "open_question"),
 * or NULL for UNSPECIFIED and unknown values. Static strings. */
const char *obs_json_session_type_name(int v);
const char *obs_json_focus_name(int v);
const char *obs_json_marker_kind_name(int v);
const char *obs_json_action_owner_name(int v);
const char *obs_json_action_status_name(int v);

#endif
