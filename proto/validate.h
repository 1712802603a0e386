/*
 * validate: structural checks of requests before they reach the store.
 *
 * These are the rules that need no data: ids present and well-formed,
 * enums known, scores in range, exactly one of score or not-applicable,
 * markers inside the session, text within its size caps. Rules that need
 * the store (rubric contents, certification, reporting lines) come later and
 * sit beside these. Every failure names the field path the way a person
 * would look for it ("observation.ratings[2].score") and says how to fix it.
 *
 * No state and no allocation: every function is safe from any thread, and
 * a struct validate_error is the caller's, filled in place.
 */
#ifndef COACHQ_VALIDATE_H
#define COACHQ_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "day.h"

/* Caps on free text and lists, in bytes / entries. */
#define VALIDATE_MAX_ID 64
#define VALIDATE_MAX_EVIDENCE 2000
#define VALIDATE_MAX_NOTE 500
#define VALIDATE_MAX_NOTES 8000
#define VALIDATE_MAX_ACTION 1000
#define VALIDATE_MAX_RATINGS 64
#define VALIDATE_MAX_MARKERS 2000
#define VALIDATE_MAX_ACTIONS 50
#define VALIDATE_MAX_FOLLOW_UPS 50
#define VALIDATE_MAX_FOCUS 2   /* focus behaviours and skill of an action, together */
#define VALIDATE_MAX_SKILL 200 /* an action's rep skill in free text */
#define VALIDATE_MAX_DURATION_S (12u * 3600u)
#define VALIDATE_MAX_REFERENCE 1024 /* a recording's URL or CRM call id, in bytes */
/* Days since 1970-01-01 of 9999-12-31, the last day "YYYY-MM-DD" can
 * write and read back: every day field taken in is bounded by it (and,
 * being a day of the product's own time, by 1970-01-01 below). */
#define VALIDATE_MAX_DAY DAY_MAX

struct validate_error {
    Coachq__V1__Code code; /* INVALID_ARGUMENT for every structural rule */
    char field[96];        /* e.g. "observation.ratings[2].score" */
    char message[256];     /* what is wrong and how to fix it */
};

/*
 * Checks an observation. prefix is the path of the observation in the
 * request ("observation"). Returns 0 if valid, or -EINVAL with err filled.
 * o and prefix are borrowed for the call.
 */
int validate_observation(const Coachq__V1__Observation *o, const char *prefix,
                         struct validate_error *err);

/*
 * Checks a recording (prefix is its path, e.g. "observation.recording"): a
 * reference that is an http(s) URL or a CRM call id (text only, never
 * fetched), a length, and with workflow the review's stage times in order
 * and the manager's comments; without it (a reference session's recording)
 * no stage time nor comments. Returns 0 or -EINVAL with err filled.
 */
int validate_recording(const Coachq__V1__Recording *r, int workflow, const char *prefix,
                       struct validate_error *err);

/* Checks a person or rubric id: 1..VALIDATE_MAX_ID bytes of [A-Za-z0-9._@-].
 * Returns 0, or -EINVAL (also for NULL). s is borrowed for the call. */
int validate_id(const char *s);

/*
 * Strict UTF-8, the one rule for all text coachq accepts: no overlong
 * forms, no surrogates, nothing above U+10FFFF.
 *
 * validate_utf8_len() returns the length (1 to 4) of the character that
 * starts at s, of which avail (at least 1) bytes may be read, or 0 when
 * those bytes do not start a valid character. validate_utf8() checks the
 * len bytes at s and returns 0, or -EINVAL when they are not all valid
 * UTF-8; NUL counts as an ordinary character. s is borrowed for the call.
 */
size_t validate_utf8_len(const char *s, size_t avail);
int validate_utf8(const char *s, size_t len);

/*
 * The one rule for text coachq stores and gives back unchanged: strict
 * UTF-8 with no NUL and no control characters (C0, DEL, C1), except that
 * multi-line text (multiline != 0: notes, evidence, action text) may hold
 * tabs and line feeds. A NUL would cut the stored C string short of what
 * was acknowledged; CR and the other controls do not survive terminals, CSV
 * and the observer's UI. Returns 0, or -EINVAL with *bad (when not NULL)
 * set to the byte offset of the first character refused. s is borrowed for
 * the call.
 */
int validate_text(const char *s, size_t len, int multiline, size_t *bad);

/*
 * Says, for a person, why validate_text() refused the character at byte
 * offset at of the len bytes at s ("contains a NUL character, ..."). The
 * result is a static string.
 */
const char *validate_text_problem(const char *s, size_t len, size_t at);

/*
 * Checks every string field of the packed message of type d in buf (len
 * bytes, borrowed for the call) with validate_text(..., multiline = 1), on
 * the wire, before protobuf-c's unpack makes each a C string that ends at
 * its first NUL. Nested messages are walked through d's descriptors;
 * unknown fields are skipped. Returns 0; -EINVAL with err's field set to
 * the path of the first bad string ("submit.observation.ratings[2].evidence":
 * field names from d on, repeated fields with their index) and its message;
 * or -EBADMSG when the bytes are not a well-formed message.
 */
int validate_wire_text(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                       struct validate_error *err);

#endif
