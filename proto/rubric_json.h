/*
 * rubric_json: rubrics as JSON files, the form they are shipped and added
 * in, and the three rubrics coachq ships (compiled in from proto/rubrics/ by
 * proto/embed_rubrics.cmake).
 *
 * The format (docs/rubrics.md):
 *   {"id": "coaching-conversation", "version": 1, "name": "...",
 *    "description": "...",                   (optional)
 *    "effective": "2024-01-01",
 *    "evidence_required": [1, 4],            (optional; default [1, 4])
 *    "behaviours": [{"id": "collaborative", "name": "...",
 *                    "definition": "...", "indicators": ["...", ...],
 *                    "anchors": ["<score 1>", "<score 2>", "<score 3>",
 *                                "<score 4>"],
 *                    "not_applicable": false}, ...],   (optional; false)
 *    "coach": "second-level-manager",        (optional; who coaches in the
 *                                             sessions it scores: the default
 *                                             "front-line-manager" coaches a
 *                                             rep, "second-level-manager" one
 *                                             of their front-line managers)
 *    "added_at_ms": 1700000000000}           (optional; written by dump
 *                                             when set, for the round trip)
 * Unknown keys and repeated keys are refused (a typo must not pass
 * silently); null counts as absent for the optional keys, as in
 * observation JSON. Files are at most 1 MiB.
 */
#ifndef COACHQ_RUBRIC_JSON_H
#define COACHQ_RUBRIC_JSON_H

#include <stddef.h>

#include "coachq.pb-c.h"

#define RUBRIC_MAX_BEHAVIOURS 40
#define RUBRIC_JSON_COACH_FRONT_LINE "front-line-manager"
#define RUBRIC_JSON_COACH_SECOND_LEVEL "second-level-manager"
#define RUBRIC_MAX_TEXT 4000

/*
 * Parses and checks one rubric: ids are validate_id() ids, behaviour ids
 * unique within the rubric, version >= 1, effective a real calendar date
 * from 1970-01-01 on, 1..RUBRIC_MAX_BEHAVIOURS behaviours, exactly four
 * non-blank anchors and 1 to 20 non-blank indicators each, evidence scores
 * in 1..4 and not repeated, all text valid UTF-8 within RUBRIC_MAX_TEXT
 * bytes. text is len bytes (no terminator needed), borrowed for the call.
 * On success returns 0 and sets *out (caller owns, free with
 * coachq__v1__rubric__free_unpacked(*out, NULL)). On failure sets *out to
 * NULL and returns -EINVAL, or -ENOMEM, and writes into err (errlen bytes;
 * err may be NULL) a message that starts with the JSON path, e.g.
 * "behaviours[3].anchors: need exactly 4 anchors (scores 1 to 4), found 3";
 * "(file)" stands for the top level. Syntax errors also give the line and
 * column. Thread-safe.
 */
int rubric_json_parse(const char *text, size_t len, Coachq__V1__Rubric **out, char *err,
                      size_t errlen);

/* Writes r (borrowed for the call) as JSON in the format above, indented
 * by two spaces and ending in a newline. For any r that rubric_json_parse()
 * accepts or produced, parsing the result gives back r field for field.
 * Returns a string the caller owns (free
 * with free()), or NULL on out of memory. */
char *rubric_json_dump(const Coachq__V1__Rubric *r);

/* The rubrics shipped with coachq, in a fixed order (coaching-conversation
 * first). rubric_json_builtin() returns the i-th file's JSON text,
 * NUL-terminated, and sets *name (if name is not NULL) to its file name,
 * e.g. "call-review.json"; both are static storage, never freed. For i at
 * or past the count it returns NULL and sets *name to NULL. */
size_t rubric_json_builtin_count(void);
const char *rubric_json_builtin(size_t i, const char **name);

#endif
