/*
 * assign_int: what the observation programme's files share inside the
 * store (assign.c, assign_plan.c). Not for other modules.
 */
#ifndef COACHQ_ASSIGN_INT_H
#define COACHQ_ASSIGN_INT_H

#include "validate.h"

#define PLAN_PROGRAMME "programme:"
#define PLAN_LINE "line:"

/* Fills the fault (FAILED_PRECONDITION) and returns ERROR_REFUSED. */
int asg_refuse(struct validate_error *fault, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether id is a person id a key can hold: 1 to KEYS_ID_MAX bytes. */
int asg_id_ok(const char *id);

#endif
