/*
 * assign_int: what the observation programme's files share inside the
 * store (assign.c, assign_plan.c). Not for other modules.
 */
#ifndef COACHQ_ASSIGN_INT_H
#define COACHQ_ASSIGN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "keys.h"
#include "validate.h"

/* The longest key of the open-assignment index (asg_open_key()). */
#define ASG_OPEN_KEY_MAX (2 + 2 * KEYS_ID_MAX + 4 + KEYS_UUID_LEN)

#define PLAN_PROGRAMME "programme:"
#define PLAN_LINE "line:"

/* Fills the fault (FAILED_PRECONDITION) and returns ERROR_REFUSED. */
int asg_refuse(struct validate_error *fault, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether id is a person id a key can hold: 1 to KEYS_ID_MAX bytes. */
int asg_id_ok(const char *id);

/* The key of the open-assignment index (asg_open): observer, then manager
 * (NULL: the observer's prefix alone), then due_until and id (NULL: the
 * pair's prefix). Writes at most ASG_OPEN_KEY_MAX bytes to out; returns
 * the length. */
size_t asg_open_key(uint8_t *out, const char *observer, const char *manager, int32_t due_until,
                    const uint8_t *id);

/* Whether o, naming no assignment, may fulfil one of observer's by itself
 * (not an amendment nor a calibration attempt, ids a key can hold, and a
 * rubric), and if so the asg_open prefix of observer and o's coach that an
 * open assignment it may fulfil is under. Writes at most ASG_OPEN_KEY_MAX
 * bytes to key; returns the prefix's length, or 0 when o may fulfil none.
 * The writer's skip (assign_match_candidate()) and the match itself
 * (assign_match()) both take it from here (assign_fulfil.c). */
size_t asg_implicit_key(const char *observer, const Coachq__V1__Observation *o, int amendment,
                        uint8_t key[ASG_OPEN_KEY_MAX]);

#endif
