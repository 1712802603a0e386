/*
 * Recorded sessions as JSON: the "recording" object of an observation or a
 * calibration reference, a marker's "author" and a rating's
 * "evidence_offset" (docs/observation-json.md). Parsing checks the form of
 * each value; the rules (reference, order of the stages, offsets inside the
 * recording) are validate.c's, as for every other field.
 */
#ifndef COACHQ_RECORDING_JSON_H
#define COACHQ_RECORDING_JSON_H

#include <stdint.h>

#include <jansson.h>

#include "coachq.pb-c.h"
#include "jsonx.h"

/*
 * Reads the optional object obj["recording"] into *out (a new message,
 * freed with recording_json_free(); absent or null leaves *out alone).
 * workflow is 0 for a reference session, whose recording has only a
 * reference and a length. Returns 0, -EINVAL (x filled) or -ENOMEM.
 */
int recording_json_get(struct jsonx_ctx *x, const json_t *obj, int workflow,
                       Coachq__V1__Recording **out);

/* Frees a recording made by recording_json_get(); NULL is ignored. */
void recording_json_free(Coachq__V1__Recording *r);

/* The recording r as a new JSON object, or NULL on allocation failure.
 * r is borrowed. */
json_t *recording_json(const Coachq__V1__Recording *r);

/*
 * Reads the optional offset obj[key] ("mm:ss", "h:mm:ss" with optional
 * .mmm, or seconds) into *out_ms. path names it in errors. Returns 0 or
 * -EINVAL.
 */
int recording_json_get_offset(struct jsonx_ctx *x, const json_t *obj, const char *key,
                              const char *path, uint32_t *out_ms);

/* The name of a marker author ("observer", "rep", "manager"), or NULL. */
const char *recording_author_name(int v);

/* The author named s, or -1. */
int recording_author_value(const char *s);

#endif
